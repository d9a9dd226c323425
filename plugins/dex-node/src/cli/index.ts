import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Config } from '@backstage/config';
import { ConfigSources } from '@backstage/config-loader';
import {
  DEFAULT_POLICY,
  PlatformPolicy,
  formatProblems,
  packSpecInputSchema,
  resolveSpec,
} from '@backstage-dex/plugin-dex-common';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { apiServerSettings } from '../pack/apiServer';
import { prepareMaterial } from '../pack/material';
import { urlsOnlyTheClusterKnows } from '../pack/names';
import { render, toYaml } from '../pack/render';
import { readClusters } from '../cluster/clusters';
import { readPolicy } from '../policy';

const USAGE = `Usage:
  dex-pack validate -f spec.yaml [POLICY]           print every problem of the spec
  dex-pack schema                                   print the spec's JSON Schema (for editors: yaml-language-server)
  dex-pack render -f spec.yaml [-o DIR] [POLICY]    write the manifests (multi-document YAML) and the
                                                    kube-apiserver settings; to stdout without -o
POLICY: --config app-config.yaml [--config more.yaml ...] [--cluster NAME]
  the platform's app-config, read as the backend reads it (later files override, \${VAR}s from the
  environment): its dex: policy for the spec's cluster (or NAME) and dex.defaults; without
  --config the default policy (every catalogued version, any namespace but the cluster's own).
Exit codes: 0 ok, 1 invalid spec, 2 usage or unusable config.
The manifests contain Secrets (certificates, client secrets): seal or encrypt them before committing.`;

/**
 * Where the CLI writes.
 *
 * @public
 */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = {
  out: s => process.stdout.write(s),
  err: s => process.stderr.write(s),
};

function parseArgs(argv: string[]) {
  const [command, ...rest] = argv;
  const opts: { file?: string; out?: string; cluster?: string } = {};
  const configs: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined || value.startsWith('-'))
      return { command, opts, configs, bad: flag };
    i += 1;
    if (flag === '-f' || flag === '--file') opts.file = value;
    else if (flag === '-o' || flag === '--out') opts.out = value;
    else if (flag === '--cluster') opts.cluster = value;
    else if (flag === '--config') configs.push(value);
    else return { command, opts, configs, bad: flag };
  }
  return { command, opts, configs, bad: undefined };
}

/** The app-config files merged as the backend merges them (ConfigSources, as backend-defaults' root config). */
async function loadAppConfig(files: string[]): Promise<Config> {
  for (const file of files)
    if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const config = await ConfigSources.toConfig(
    ConfigSources.default({
      argv: files.flatMap(f => ['--config', path.resolve(f)]),
      watch: false,
    }),
  );
  config.close();
  return config;
}

/**
 * The policy a spec is checked against: the default without app-config; with it, the one the
 * backend reads for the spec's cluster (or `--cluster`), which must be a configured one.
 */
async function policyFor(
  configs: string[],
  cluster: string | undefined,
): Promise<PlatformPolicy> {
  if (!configs.length) return DEFAULT_POLICY;
  const config = await loadAppConfig(configs);
  const known = readClusters(config).map(c => c.name);
  if (cluster !== undefined && !known.includes(cluster))
    throw new Error(
      `cluster "${cluster}" is not configured in ${configs.join(', ')} (kubernetes.clusterLocatorMethods; configured: ${known.join(', ') || 'none'}): give the spec's cluster or --cluster one of them`,
    );
  return readPolicy(config, cluster);
}

/** The spec's JSON Schema, derived from the one zod schema (the scaffolder derives its own the same way). */
export function specJsonSchema(): object {
  return {
    ...zodToJsonSchema(packSpecInputSchema, { $refStrategy: 'none' }),
    title: 'Dex pack spec (dex-pack, dex:pack:apply)',
  };
}

/**
 * The `dex-pack` command for GitOps users; returns the exit code.
 *
 * @public
 */
export async function runCli(argv: string[], io: Io = stdio): Promise<number> {
  const { command, opts, configs, bad } = parseArgs(argv);
  if (command === 'schema' && argv.length === 1) {
    io.out(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (
    bad !== undefined ||
    !['validate', 'render'].includes(command ?? '') ||
    !opts.file
  ) {
    io.err(`${bad !== undefined ? `Unknown argument ${bad}\n` : ''}${USAGE}\n`);
    return 2;
  }
  let input: unknown;
  try {
    input = YAML.parse(fs.readFileSync(opts.file, 'utf8'));
  } catch (e) {
    io.err(`Cannot read ${opts.file}: ${(e as Error).message}\n`);
    return 2;
  }
  // --cluster names the spec's cluster when it has none; it may not contradict it.
  const spec0 =
    input && typeof input === 'object' && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : undefined;
  const named = typeof spec0?.cluster === 'string' ? spec0.cluster : undefined;
  if (opts.cluster && named && named !== opts.cluster) {
    io.err(
      `--cluster ${opts.cluster}, but ${opts.file} names cluster "${named}": give one of them\n`,
    );
    return 2;
  }
  const cluster = opts.cluster ?? named;
  let policy: PlatformPolicy;
  try {
    policy = await policyFor(configs, cluster);
  } catch (e) {
    io.err(`Cannot use the app-config: ${(e as Error).message}\n`);
    return 2;
  }
  const { spec, problems } = resolveSpec(
    spec0 && cluster ? { ...spec0, cluster } : (input ?? {}),
    policy,
  );
  if (problems.length) {
    io.err(`${formatProblems(problems)}\n`);
    return 1;
  }
  if (command === 'validate') {
    io.out(
      `${opts.file}: valid (Dex ${spec.dex.version}, ${spec.authenticator.enabled ? `authenticator ${spec.authenticator.version}` : 'no authenticator'})\n`,
    );
    return 0;
  }
  const unknownUrls = urlsOnlyTheClusterKnows(spec);
  if (unknownUrls) {
    io.err(`The CLI reads no cluster: ${unknownUrls}\n`);
    return 1;
  }
  let material;
  try {
    ({ material } = prepareMaterial(spec));
  } catch (e) {
    io.err(
      `${(e as Error).message} (the CLI reads no cluster: give static users a bcrypt hash instead)\n`,
    );
    return 1;
  }
  const manifests = toYaml(render(spec, material));
  const settings = apiServerSettings(spec, material.ca.certPem);
  if (!opts.out) {
    io.out(manifests);
    io.err(`# kube-apiserver flags:\n${settings.flags.join('\n')}\n`);
    return 0;
  }
  fs.mkdirSync(path.join(opts.out, 'apiserver'), { recursive: true });
  fs.writeFileSync(path.join(opts.out, 'manifests.yaml'), manifests, {
    mode: 0o600,
  });
  fs.writeFileSync(
    path.join(opts.out, 'apiserver', 'oidc-flags.txt'),
    `${settings.flags.join('\n')}\n`,
  );
  fs.writeFileSync(
    path.join(opts.out, 'apiserver', 'authentication-configuration.yaml'),
    settings.authenticationConfiguration,
  );
  fs.writeFileSync(
    path.join(opts.out, 'apiserver', 'ca.crt'),
    material.ca.certPem,
  );
  io.out(
    `Wrote ${opts.out}/manifests.yaml and ${opts.out}/apiserver/ (oidc-flags.txt, authentication-configuration.yaml, ca.crt)\n`,
  );
  return 0;
}
