#!/usr/bin/env node
// The browser tests, run by `npm test` after the unit and integration tests (scripts/run.mjs has
// brought Node 24, the npm dependencies and the Go-built binaries). It:
//   1. makes sure Debian's Chromium is installed (apt-get, as root), since browsers cannot be
//      downloaded here;
//   2. starts the embedded local cluster — a living one: controllers, the node that runs the
//      pack's pods, LoadBalancer addresses on loopback — and the app against it
//      (scripts/start.mjs, KUBECONFIG);
//   3. runs e2e/tests with node's test runner, Playwright (playwright-core) driving Chromium;
//   4. stops everything, and exits with the tests' status.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'package.json'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function log(m) {
  process.stderr.write(`[e2e] ${m}\n`);
}

function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  log("installing Debian's chromium (apt-get)");
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed (${r.status})`);
  }
}

/** node --test on the files, its stdout passed through and kept (for the counts). */
function runTests(files, { cwd, env }) {
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', ...files],
    { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', chunk => {
    stdout += chunk;
    process.stdout.write(chunk);
  });
  return new Promise(resolve =>
    child.once('exit', status => resolve({ status, stdout })),
  );
}

async function main() {
  ensureChromium();
  require('@backstage/cli/config/nodeTransform.cjs');
  const { startLocalCluster } = require('@backstage-dex/local-cluster');
  log('starting the local cluster (with its node)');
  // Structured authentication, with no issuer yet: the journey test plays the platform and writes
  // the pack's AuthenticationConfiguration into the file once the task hands it back;
  // kube-apiserver reloads it, so the downloaded kubeconfig (this cluster's URL) logs in through
  // the pack's Dex.
  const cluster = await startLocalCluster({
    node: true,
    authenticationConfig:
      'apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt: []\n',
    onProgress: line => log(line),
  });
  const token = crypto.randomBytes(24).toString('hex');
  const env = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    BACKSTAGE_E2E_TOKEN: token,
  };
  delete env.DEX_USE_KUBECONFIG;
  const app = spawn(process.execPath, [path.join(root, 'scripts/start.mjs')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const appLog = fs.createWriteStream(path.join(here, 'artifacts', 'app.log'));
  let ready;
  const readyPromise = new Promise((resolve, reject) => {
    ready = resolve;
    app.once('exit', code =>
      reject(
        new Error(
          `the app exited (${code}) before it was ready; see e2e/artifacts/app.log`,
        ),
      ),
    );
  });
  for (const stream of [app.stdout, app.stderr]) {
    stream.on('data', chunk => {
      appLog.write(chunk);
      if (String(chunk).includes('Backstage is ready')) ready();
    });
  }
  let status = 1;
  try {
    await readyPromise;
    log('app ready; running the browser tests');
    const tests = fs
      .readdirSync(path.join(here, 'tests'))
      .filter(f => f.endsWith('.test.cjs'))
      .map(f => path.join(here, 'tests', f));
    // Not spawnSync: this process forwards the LoadBalancer addresses the browser and
    // kube-apiserver reach the pack's pods through, so it must not block while the tests run.
    const r = await runTests(tests, {
      cwd: root,
      env: {
        ...env,
        E2E_KUBECONFIG: cluster.kubeconfigPath,
        E2E_CLUSTER_CA: cluster.caPem,
        // Where startLocalCluster wrote the AuthenticationConfiguration (--authentication-config).
        E2E_AUTHENTICATION_CONFIG: path.join(
          cluster.workDir,
          'authentication-config.yaml',
        ),
        E2E_TOKEN: token,
        CHROMIUM_PATH: CHROMIUM,
      },
    });
    status = r.status ?? 1;
    // The counts for the closing line of `npm test` (scripts/run.mjs).
    const count = word =>
      Number(
        new RegExp(`^ℹ ${word} (\\d+)$`, 'm').exec(r.stdout ?? '')?.[1] ?? 0,
      );
    fs.writeFileSync(
      path.join(here, 'artifacts', 'summary.json'),
      JSON.stringify({ passed: count('pass'), failed: count('fail') }),
    );
  } finally {
    app.kill('SIGTERM');
    await new Promise(resolve =>
      app.exitCode !== null ? resolve() : app.once('exit', resolve),
    );
    await cluster.stop();
  }
  process.exit(status);
}

// This run's screenshots only: a stale one from an earlier run would pass for a step that failed.
fs.rmSync(path.join(here, 'artifacts'), { recursive: true, force: true });
fs.mkdirSync(path.join(here, 'artifacts'), { recursive: true });
main().catch(e => {
  log(e.stack ?? String(e));
  process.exit(1);
});
