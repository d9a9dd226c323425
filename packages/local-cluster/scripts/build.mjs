#!/usr/bin/env node
// Builds the local cluster's real peers (etcd, kube-apiserver, kubectl, Dex) from the Go module
// proxy with `go build`, into a cache outside the clone so fresh clones on one machine reuse them.
//
//   node build.mjs [--json] [target[@version] ...]    (no target: the default set)
//
// Prints where each binary is; with --json, one JSON object {target@version: {bin} | {error}}.
// Exits 1 when a requested build fails, naming the module, version and the go error.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const catalogue = JSON.parse(
  fs.readFileSync(path.join(here, '..', 'targets.json'), 'utf8'),
);

export function cacheRoot() {
  if (process.env.LOCAL_CLUSTER_CACHE) return process.env.LOCAL_CLUSTER_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'backstage-dex', 'local-cluster');
}

function goVersion() {
  try {
    return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The Go module version to require for a target at a (product) version. */
function moduleVersion(target, version) {
  const v = target.versions[version];
  if (!v) {
    throw new Error(
      `No ${target.name} version ${version} is catalogued in packages/local-cluster/targets.json; known: ${Object.keys(target.versions).join(', ')}`,
    );
  }
  return v;
}

function goModFor(target, version, modVersion) {
  const lines = [`module localcluster.build/${target.name}`, '', 'go 1.25', ''];
  lines.push(`require ${target.module} ${modVersion}`);
  // A release whose go.mod replaces one of its own submodules with a folder of its tree (Dex
  // 2.44: api/v2 => ./api/v2) gets the published submodule with the same content instead.
  for (const [m, v] of Object.entries(target.requires?.[version] ?? {})) lines.push(`require ${m} ${v}`);
  // kubernetes' own go.mod points its staging modules at ./staging; outside that tree each
  // one must come from the proxy at its published v0.<minor>.<patch>.
  if (target.stagingReplace) {
    const staged = version.replace(/^v1\./, 'v0.');
    lines.push('', 'replace (');
    for (const m of target.stagingModules) lines.push(`\t${m} => ${m} ${staged}`);
    lines.push(')');
  }
  return `${lines.join('\n')}\n`;
}

function ldflags(target, version) {
  if (!target.versionLdflags) return '-s -w';
  const [maj, min] = version.replace(/^v/, '').split('.');
  const pkgs = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'];
  const flags = ['-s', '-w'];
  for (const p of pkgs) {
    flags.push(`-X ${p}.gitVersion=${version}`, `-X ${p}.gitMajor=${maj}`, `-X ${p}.gitMinor=${min}`);
    flags.push(`-X ${p}.gitTreeState=clean`, `-X ${p}.buildDate=1970-01-01T00:00:00Z`);
  }
  return flags.join(' ');
}

function run(cmd, args, cwd, env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const out = `${r.stderr || ''}${r.stdout || ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${out}`);
  }
  return r.stdout;
}

/**
 * Folders of the module's source a binary reads at run time (Dex before 2.29 loads its templates
 * from ./web; later releases embed them), copied beside bin/ so the Go module cache may be cleaned.
 */
function copyAssets(target, modVersion, assets, dir, src, env) {
  if (!assets.length) return;
  const info = JSON.parse(run('go', ['mod', 'download', '-json', `${target.module}@${modVersion}`], src, env));
  for (const a of assets) {
    const from = path.join(info.Dir, a.dir);
    if (!fs.existsSync(from)) throw new Error(`${target.module}@${modVersion} has no ${a.dir}/ folder`);
    const to = path.join(dir, a.dir);
    fs.rmSync(`${to}.tmp`, { recursive: true, force: true });
    fs.cpSync(from, `${to}.tmp`, { recursive: true });
    // The module cache is read-only; the copy must stay removable.
    chmodTree(`${to}.tmp`);
    fs.renameSync(`${to}.tmp`, to);
  }
}

function chmodTree(p) {
  const st = fs.statSync(p);
  fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chmodTree(path.join(p, e));
}

/** Builds (or finds in the cache) one target; returns { bin: {name: path}, cached, seconds }. */
export function buildTarget(name, requestedVersion) {
  const target = catalogue.targets.find(t => t.name === name);
  if (!target) throw new Error(`Unknown local-cluster target "${name}"`);
  const version = requestedVersion || target.default;
  const modVersion = moduleVersion(target, version);
  const dir = path.join(cacheRoot(), `${name}-${version}`);
  const binDir = path.join(dir, 'bin');
  const bins = Object.fromEntries(target.packages.map(p => [p.bin, path.join(binDir, p.bin)]));
  const stamp = path.join(dir, 'built.json');
  const assets = (target.assets ?? []).filter(a => !a.versions || a.versions.includes(version));
  const missingAssets = () => assets.filter(a => !fs.existsSync(path.join(dir, a.dir)));
  if (fs.existsSync(stamp) && Object.values(bins).every(b => fs.existsSync(b)) && !missingAssets().length) {
    return { bin: bins, cached: true, seconds: 0 };
  }
  // A failed build is remembered per Go version, so every test run does not retry it
  // (LOCAL_CLUSTER_RETRY_FAILED=1 retries).
  const failedStamp = path.join(dir, 'failed.json');
  if (fs.existsSync(failedStamp) && !process.env.LOCAL_CLUSTER_RETRY_FAILED) {
    const failed = JSON.parse(fs.readFileSync(failedStamp, 'utf8'));
    if (failed.go === goVersion() && failed.modVersion === modVersion) {
      throw new Error(`${failed.error} (cached failure; LOCAL_CLUSTER_RETRY_FAILED=1 retries)`);
    }
  }
  if (!goVersion()) {
    throw new Error(
      'No Go toolchain found (`go` is not on PATH). Install Go 1.25+ to build the local cluster, ' +
        'or point the tests at an existing cluster with KUBECONFIG=/path/to/kubeconfig.',
    );
  }
  const started = Date.now();
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'go.mod'), goModFor(target, version, modVersion));
  const env = {
    ...process.env,
    CGO_ENABLED: (target.cgoVersions ?? []).includes(version) ? '1' : '0',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
  };
  const needsBuild = !fs.existsSync(stamp) || !Object.values(bins).every(b => fs.existsSync(b));
  try {
    if (needsBuild) {
      for (const p of target.packages) run('go', ['get', `${p.pkg}@${modVersion}`], src, env);
      for (const p of target.packages) {
        const flags = ['build', '-trimpath', '-ldflags', ldflags(target, version)];
        run('go', [...flags, '-o', bins[p.bin], p.pkg], src, env);
      }
    }
    copyAssets(target, modVersion, missingAssets(), dir, src, env);
  } catch (e) {
    const error = `Building ${target.module} ${version} (${modVersion}) failed: ${e.message}`;
    fs.writeFileSync(failedStamp, JSON.stringify({ error, go: goVersion(), modVersion }));
    throw new Error(error);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (!needsBuild) return { bin: bins, cached: true, seconds };
  fs.writeFileSync(stamp, JSON.stringify({ module: target.module, version, modVersion, seconds, go: goVersion() }));
  return { bin: bins, cached: false, seconds };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const wanted = args.filter(a => !a.startsWith('--'));
  const list = wanted.length ? wanted : catalogue.defaultBuild;
  const result = {};
  let failed = false;
  for (const spec of list) {
    const [name, version] = spec.split('@');
    const t = catalogue.targets.find(x => x.name === name);
    const key = `${name}@${version || t?.default}`;
    try {
      if (!json) process.stderr.write(`local-cluster: ${key} ...\n`);
      result[key] = buildTarget(name, version);
      if (!json) process.stderr.write(`local-cluster: ${key} ${result[key].cached ? 'cached' : `built in ${result[key].seconds}s`}\n`);
    } catch (e) {
      failed = true;
      result[key] = { error: e.message };
      if (!json) process.stderr.write(`local-cluster: ${e.message}\n`);
    }
  }
  if (json) process.stdout.write(JSON.stringify(result));
  process.exit(failed && !args.includes('--keep-going') ? 1 : 0);
}
