#!/usr/bin/env node
// Builds the local cluster's real peers (etcd, kube-apiserver, kubectl, Dex, dex-k8s-authenticator,
// gomplate, kubelogin) with `go build`, into a cache outside the clone so fresh clones on one
// machine reuse them. A target comes from the Go module proxy; when the proxy refuses that module
// version, from a source archive (targets.json `sources`, sha256-checked) in the peers folder.
//
//   node build.mjs [--json] [--keep-going] [target[@version] ...]    (no target: the default set)
//   node build.mjs --sources       the folders searched for source archives (JSON)
//
// Prints where each binary is; with --json, one JSON object {target@version: {bin, dir} | {error}}.
// Exits 1 when a requested build fails, naming the module, version and the go error.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHostTools } from './base-image.mjs';
import { LDAP_PACKAGES, ensureDebianPackages } from './debian.mjs';
import { cacheRoot } from './cache.mjs';
import {
  findArchive,
  mirrorArchives,
  sourceFolders,
  unpack,
} from './sources.mjs';

export { cacheRoot };

const here = path.dirname(fileURLToPath(import.meta.url));
const catalogue = JSON.parse(
  fs.readFileSync(path.join(here, '..', 'targets.json'), 'utf8'),
);

function goVersion() {
  try {
    return execFileSync('go', ['env', 'GOVERSION'], {
      encoding: 'utf8',
    }).trim();
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

const forVersion = version => entry =>
  !entry.versions || entry.versions.includes(version);
const modulePath = (target, version) =>
  target.modules?.[version] ?? target.module;
const importPath = (mod, pkg) => (pkg === '.' ? mod : `${mod}/${pkg}`);

function goModFor(target, version, modVersion) {
  const lines = [`module localcluster.build/${target.name}`, '', 'go 1.25', ''];
  lines.push(`require ${modulePath(target, version)} ${modVersion}`);
  // A release whose go.mod replaces one of its own submodules with a folder of its tree (Dex
  // 2.44: api/v2 => ./api/v2) gets the published submodule with the same content instead.
  for (const [m, v] of Object.entries(target.requires?.[version] ?? {}))
    lines.push(`require ${m} ${v}`);
  // kubernetes' own go.mod points its staging modules at ./staging; outside that tree each
  // one must come from the proxy at its published v0.<minor>.<patch>.
  // A dependency the proxy refuses at every version gets a stand-in module from ../go (README).
  const replaces = Object.entries(target.replace ?? {});
  if (replaces.length) {
    lines.push('');
    for (const [m, dir] of replaces)
      lines.push(`replace ${m} => ${path.resolve(here, '..', dir)}`);
  }
  if (target.stagingReplace) {
    const staged = version.replace(/^v1\./, 'v0.');
    lines.push('', 'replace (');
    for (const m of target.stagingModules)
      lines.push(`\t${m} => ${m} ${staged}`);
    lines.push(')');
  }
  return `${lines.join('\n')}\n`;
}

function ldflags(target, version) {
  if (!target.versionLdflags) return '-s -w';
  const [maj, min] = version.replace(/^v/, '').split('.');
  const pkgs = [
    'k8s.io/component-base/version',
    'k8s.io/client-go/pkg/version',
  ];
  const flags = ['-s', '-w'];
  for (const p of pkgs) {
    flags.push(
      `-X ${p}.gitVersion=${version}`,
      `-X ${p}.gitMajor=${maj}`,
      `-X ${p}.gitMinor=${min}`,
    );
    flags.push(
      `-X ${p}.gitTreeState=clean`,
      `-X ${p}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

function run(cmd, args, cwd, env) {
  const r = spawnSync(cmd, args, {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const out = `${r.stderr || ''}${r.stdout || ''}`
      .trim()
      .split('\n')
      .slice(-25)
      .join('\n');
    const error = new Error(`${cmd} ${args.join(' ')} failed:\n${out}`);
    error.output = out;
    throw error;
  }
  return r.stdout;
}

/**
 * What the module proxy refused in a go error: the module@version it would not hand out and its
 * answer (e.g. "403 Forbidden: This module version is not available."); undefined for other errors.
 */
function proxyRefusal(error) {
  const text = error.output ?? error.message;
  // go: <module>@<version>: reading <proxy>/<module>/@v/<version>.zip: 403 Forbidden
  const m = /([^\s:]+)@([^\s:]+): reading \S+: (\d{3} [A-Za-z ]+?)\s*$/m.exec(
    text,
  );
  if (!m) return undefined;
  const server = /server response:\s*(.+)/.exec(text)?.[1]?.trim();
  // A checksum-database lookup names "<module>@<version>/go.mod" when it is the go.mod that is checked.
  return {
    module: `${m[1]}@${m[2].replace(/\/go\.mod$/, '')}`,
    answer: [m[3], server].filter(Boolean).join(': '),
  };
}

/**
 * Files and folders of the source tree that the images carry besides the binaries (Dex's web/,
 * its entrypoint script, the authenticator's templates/ and html/), copied beside bin/ so the Go
 * module cache may be cleaned.
 */
function copyAssets(target, assets, dir, srcDir) {
  for (const a of assets) {
    const from = path.join(srcDir, a.path);
    if (!fs.existsSync(from))
      throw new Error(`${target.module} has no ${a.path} in its source tree`);
    const to = path.join(dir, a.path);
    fs.rmSync(`${to}.tmp`, { recursive: true, force: true });
    fs.cpSync(from, `${to}.tmp`, { recursive: true });
    // The module cache is read-only and module zips keep no x bit: the copy gets plain modes
    // (removable), and the scripts an image runs their executable bit (targets.json `executable`).
    chmodTree(`${to}.tmp`);
    if (a.executable) fs.chmodSync(`${to}.tmp`, 0o755);
    fs.renameSync(`${to}.tmp`, to);
  }
}

function chmodTree(p) {
  const st = fs.statSync(p);
  const exec = st.isDirectory() || st.mode & 0o111;
  fs.chmodSync(p, exec ? 0o755 : 0o644);
  if (st.isDirectory())
    for (const e of fs.readdirSync(p)) chmodTree(path.join(p, e));
}

/** Builds through the Go module proxy; returns the module's source folder (for assets). */
function buildFromProxy(target, version, modVersion, bins, src, env) {
  const mod = modulePath(target, version);
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(
    path.join(src, 'go.mod'),
    goModFor(target, version, modVersion),
  );
  const packages = target.packages.filter(forVersion(version));
  for (const p of packages)
    run('go', ['get', `${importPath(mod, p.pkg)}@${modVersion}`], src, env);
  for (const p of packages) {
    const flags = ['build', '-trimpath', '-ldflags', ldflags(target, version)];
    run('go', [...flags, '-o', bins[p.bin], importPath(mod, p.pkg)], src, env);
  }
  return () =>
    JSON.parse(
      run('go', ['mod', 'download', '-json', `${mod}@${modVersion}`], src, env),
    ).Dir;
}

/** Builds inside the unpacked source archive (its own go.mod and go.sum); dependencies from the proxy. */
function buildFromArchive(archive, target, version, bins, dir, env) {
  const tree = unpack(archive, path.join(dir, 'archive'));
  // Old releases' go.sum may miss entries newer Go wants, and their vendor/ is not in the archive.
  const archiveEnv = { ...env, GOFLAGS: '-mod=mod' };
  for (const p of target.packages.filter(forVersion(version))) {
    const flags = ['build', '-trimpath', '-ldflags', ldflags(target, version)];
    run(
      'go',
      [...flags, '-o', bins[p.bin], p.pkg === '.' ? '.' : `./${p.pkg}`],
      tree,
      archiveEnv,
    );
  }
  return () => tree;
}

/** What a build of target@version depends on in targets.json: a failure is remembered only for the same recipe. */
function recipe(target, version) {
  const parts = [
    target.module,
    target.modules?.[version],
    target.packages.filter(forVersion(version)),
    target.requires?.[version],
    target.replace,
    target.sources?.[version],
    (target.cgoVersions ?? []).includes(version),
  ];
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(parts))
    .digest('hex')
    .slice(0, 16);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `<dir>/.lock`, so two processes (parallel jest workers, two clones) never build
 * one target into one folder at once; a lock whose process is gone is taken over.
 */
function withLock(dir, fn) {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, '.lock');
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const owner = Number(fs.readFileSync(lock, 'utf8'));
      // An empty file is a lock being written: its owner is alive.
      if (owner && !alive(owner)) fs.rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Builds (or finds in the cache) one target; returns { bin: {name: path}, dir, cached, seconds, from }. */
export function buildTarget(name, requestedVersion, onBuild = () => {}) {
  const target = catalogue.targets.find(t => t.name === name);
  if (!target) throw new Error(`Unknown local-cluster target "${name}"`);
  const version = requestedVersion || target.default;
  moduleVersion(target, version);
  return withLock(path.join(cacheRoot(), `${name}-${version}`), () =>
    buildUnlocked(target, version, onBuild),
  );
}

/** `onBuild` is called when a build actually starts (not for a cached target). */
function buildUnlocked(target, version, onBuild) {
  const name = target.name;
  const modVersion = moduleVersion(target, version);
  const dir = path.join(cacheRoot(), `${name}-${version}`);
  const binDir = path.join(dir, 'bin');
  const packages = target.packages.filter(forVersion(version));
  const bins = Object.fromEntries(
    packages.map(p => [p.bin, path.join(binDir, p.bin)]),
  );
  const stamp = path.join(dir, 'built.json');
  const assets = (target.assets ?? []).filter(forVersion(version));
  const missingAssets = () =>
    assets.filter(a => {
      const p = path.join(dir, a.path);
      return (
        !fs.existsSync(p) || (a.executable && !(fs.statSync(p).mode & 0o100))
      );
    });
  const binsThere = () => Object.values(bins).every(b => fs.existsSync(b));
  if (fs.existsSync(stamp) && binsThere() && !missingAssets().length) {
    return { bin: bins, dir, cached: true, seconds: 0 };
  }
  // A failed build is remembered per Go version, so every test run does not retry it
  // (LOCAL_CLUSTER_RETRY_FAILED=1 retries).
  const failedStamp = path.join(dir, 'failed.json');
  if (fs.existsSync(failedStamp) && !process.env.LOCAL_CLUSTER_RETRY_FAILED) {
    const failed = JSON.parse(fs.readFileSync(failedStamp, 'utf8'));
    if (
      failed.go === goVersion() &&
      failed.modVersion === modVersion &&
      failed.recipe === recipe(target, version)
    ) {
      throw new Error(
        `${failed.error} (cached failure; LOCAL_CLUSTER_RETRY_FAILED=1 retries)`,
      );
    }
  }
  if (!goVersion()) {
    throw new Error(
      'No Go toolchain found (`go` is not on PATH). Install Go 1.25+ to build the local cluster, ' +
        'or point the tests at an existing cluster with KUBECONFIG=/path/to/kubeconfig.',
    );
  }
  onBuild();
  const started = Date.now();
  fs.mkdirSync(binDir, { recursive: true });
  const env = {
    ...process.env,
    CGO_ENABLED: (target.cgoVersions ?? []).includes(version) ? '1' : '0',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
  };
  let from = 'proxy';
  try {
    let sourceTree;
    if (target.sources?.[version]?.always) {
      // The proxy serves it, but only the release's own tree builds (targets.json says why).
      from = findArchive(
        target,
        version,
        `${modulePath(target, version)}@${modVersion}`,
      );
      sourceTree = buildFromArchive(from, target, version, bins, dir, env);
    } else {
      try {
        sourceTree = buildFromProxy(
          target,
          version,
          modVersion,
          bins,
          path.join(dir, 'src'),
          env,
        );
      } catch (e) {
        const refusal = proxyRefusal(e);
        if (!refusal) throw e;
        const wanted = `${modulePath(target, version)}@${modVersion}`;
        if (refusal.module !== wanted) {
          throw new Error(
            `the Go module proxy refused ${refusal.module}, a dependency of ${wanted} (${refusal.answer})\n${e.output ?? e.message}`,
          );
        }
        from = findArchive(target, version, wanted, refusal.answer);
        sourceTree = buildFromArchive(from, target, version, bins, dir, env);
      }
    }
    if (missingAssets().length)
      copyAssets(target, missingAssets(), dir, sourceTree());
  } catch (e) {
    const error = `Building ${modulePath(target, version)} ${version} (${modVersion}) failed: ${e.message}`;
    fs.writeFileSync(
      failedStamp,
      JSON.stringify({
        error,
        go: goVersion(),
        modVersion,
        recipe: recipe(target, version),
      }),
    );
    throw new Error(error);
  } finally {
    fs.rmSync(path.join(dir, 'archive'), { recursive: true, force: true });
  }
  fs.rmSync(failedStamp, { force: true });
  const seconds = Math.round((Date.now() - started) / 1000);
  fs.writeFileSync(
    stamp,
    JSON.stringify({
      module: modulePath(target, version),
      version,
      modVersion,
      from,
      seconds,
      go: goVersion(),
    }),
  );
  return { bin: bins, dir, cached: false, seconds, from };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  if (args.includes('--sources')) {
    process.stdout.write(JSON.stringify(sourceFolders()));
    process.exit(0);
  }
  try {
    ensureHostTools(line => process.stderr.write(`local-cluster: ${line}\n`));
  } catch (e) {
    // Builds go on: only runPod needs these, and it names the missing file.
    process.stderr.write(`local-cluster: ${e.message}\n`);
  }
  try {
    ensureDebianPackages(LDAP_PACKAGES, 'the LDAP login tests', line =>
      process.stderr.write(`local-cluster: ${line}\n`),
    );
  } catch (e) {
    // Builds go on: only startSlapd needs these, and it says what to install.
    process.stderr.write(`local-cluster: ${e.message}\n`);
  }
  try {
    mirrorArchives();
  } catch (e) {
    process.stderr.write(
      `local-cluster: keeping a copy of shared/peers failed: ${e.message}\n`,
    );
  }
  const wanted = args.filter(a => !a.startsWith('--'));
  const list = wanted.length ? wanted : catalogue.defaultBuild;
  const result = {};
  let failed = false;
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s elapsed`;
  list.forEach((spec, i) => {
    const [name, version] = spec.split('@');
    const t = catalogue.targets.find(x => x.name === name);
    const key = `${name}@${version || t?.default}`;
    const progress = `[${i + 1}/${list.length}]`;
    try {
      const announce = () =>
        !json &&
        process.stderr.write(
          `local-cluster ${progress} building ${key} ... (${elapsed()})\n`,
        );
      result[key] = buildTarget(name, version, announce);
      if (!json) {
        const r = result[key];
        const how = r.cached
          ? 'cached'
          : `built in ${r.seconds}s${r.from === 'proxy' ? '' : ` from ${r.from}`}`;
        process.stderr.write(
          `local-cluster ${progress} ${key} ${how} (${elapsed()})\n`,
        );
      }
    } catch (e) {
      failed = true;
      result[key] = { error: e.message };
      if (!json)
        process.stderr.write(`local-cluster ${progress} ${e.message}\n`);
    }
  });
  if (json) process.stdout.write(JSON.stringify(result));
  process.exit(failed && !args.includes('--keep-going') ? 1 : 0);
}
