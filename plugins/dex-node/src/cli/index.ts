import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  formatProblems,
  packSpecInputSchema,
  resolveSpec,
} from '@backstage-dex/plugin-dex-common';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { apiServerSettings } from '../pack/apiServer';
import { prepareMaterial } from '../pack/material';
import { urlsOnlyTheClusterKnows } from '../pack/names';
import { render, toYaml } from '../pack/render';

const USAGE = `Usage:
  dex-pack validate -f spec.yaml           print every problem of the spec
  dex-pack schema                          print the spec's JSON Schema (for editors: yaml-language-server)
  dex-pack render -f spec.yaml [-o DIR]    write the manifests (multi-document YAML) and the
                                           kube-apiserver settings; to stdout without -o
Exit codes: 0 ok, 1 invalid spec, 2 usage.
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
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    if (flag === '-f' || flag === '--file') opts.file = rest[++i];
    else if (flag === '-o' || flag === '--out') opts.out = rest[++i];
    else return { command, opts, bad: flag };
  }
  return { command, opts, bad: undefined };
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
  const { command, opts, bad } = parseArgs(argv);
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
  const { spec, problems } = resolveSpec(input ?? {});
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
