#!/usr/bin/env node
// `npm start` (through scripts/run.mjs, which has already brought Node 24, the npm dependencies
// and the Go-built cluster binaries): runs a Kubernetes cluster, the Backstage backend
// (http://localhost:7007) and the frontend dev server (http://localhost:3000), and stops all of
// them on Ctrl-C / SIGTERM, or when the parent goes away.
//
// Cluster:
//   - KUBECONFIG set: its current context is used as the cluster "local" of app-config.yaml.
//     The context's user must authenticate with a bearer token (`token` or `tokenFile`), and the
//     cluster needs `certificate-authority-data` or `certificate-authority` (client certificates
//     and exec plugins are not read; create a token with `kubectl create token <service-account>`).
//   - otherwise: the embedded cluster of packages/local-cluster (etcd, kube-apiserver,
//     kube-controller-manager, kube-scheduler and one node that runs the pack's pods, LoadBalancer
//     addresses on loopback; cluster-admin token), removed again on exit. LOCAL_CLUSTER_NODE=0
//     starts only etcd + kube-apiserver (nothing runs the pods then).
// Either way the cluster reaches the backend as LOCAL_CLUSTER_URL, LOCAL_CLUSTER_TOKEN and
// LOCAL_CLUSTER_CA_DATA (base64 PEM), and KUBECONFIG points at it.
//
// Other environment:
//   BACKSTAGE_E2E_TOKEN  static token for scripts and tests (backend.auth.externalAccess);
//                        a random one is generated when unset.
//   START_TIMEOUT_MS     how long to wait for backend and frontend (default 600000).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const BACKEND_URL = 'http://localhost:7007';
const APP_URL = 'http://localhost:3000';
const timeoutMs = Number(process.env.START_TIMEOUT_MS ?? 600_000);

function log(msg) {
  process.stderr.write(`[start] ${msg}\n`);
}

/** Resolves when nothing listens on the port (on any loopback family). */
async function portFree(port) {
  for (const host of ['127.0.0.1', '::1']) {
    const inUse = await new Promise(resolve => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (inUse) return false;
  }
  return true;
}

/** The current context of a kubeconfig file, as { url, token, caData }. */
function clusterFromKubeconfig(file) {
  const YAML = require('yaml');
  const dir = path.dirname(file);
  const kc = YAML.parse(fs.readFileSync(file, 'utf8'));
  const ctxName = kc['current-context'];
  const ctx = kc.contexts?.find(c => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${file}: no current-context`);
  const cluster = kc.clusters?.find(c => c.name === ctx.cluster)?.cluster;
  const user = kc.users?.find(u => u.name === ctx.user)?.user ?? {};
  if (!cluster?.server)
    throw new Error(`${file}: context ${ctxName} has no cluster server`);
  const token =
    user.token ??
    (user.tokenFile
      ? fs.readFileSync(path.resolve(dir, user.tokenFile), 'utf8').trim()
      : undefined);
  if (!token) {
    throw new Error(
      `${file}: user ${ctx.user} has no bearer token (token or tokenFile); ` +
        'client certificates and exec plugins are not supported here: use a service account token',
    );
  }
  let caData = cluster['certificate-authority-data'];
  if (!caData && cluster['certificate-authority']) {
    caData = fs
      .readFileSync(path.resolve(dir, cluster['certificate-authority']))
      .toString('base64');
  }
  if (!caData)
    throw new Error(
      `${file}: cluster ${ctx.cluster} has no certificate-authority(-data)`,
    );
  return { url: cluster.server, token, caData };
}

const children = [];
let cluster;
let stopping = false;

/** Starts `node <cli-module-build> package start` in a package, in its own process group. */
function startPackage(name, dir, env) {
  // The Backstage CLI's `package start` command lives in @backstage/cli-module-build; run its
  // bin directly, whatever CLI modules the root package.json enables.
  const bin = path.join(
    path.dirname(require.resolve('@backstage/cli-module-build/package.json')),
    'bin',
    'backstage-cli-module-build',
  );
  const child = spawn(process.execPath, [bin, 'package', 'start'], {
    cwd: path.join(root, dir),
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', chunk => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.name = name;
  child.exitPromise = new Promise(resolve =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.exitPromise.then(({ code, signal }) => {
    child.exited = true;
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping everything`);
      shutdown(1);
    }
  });
  children.push(child);
  return child;
}

function killGroup(child, signal) {
  if (child.exited) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('stopping');
  await Promise.all(
    children.map(async child => {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await child.exitPromise;
      clearTimeout(timer);
      // Whatever the package's process left behind in its group.
      killGroup(child, 'SIGKILL');
    }),
  );
  if (cluster) {
    await cluster.stop().catch(e => log(`stopping the local cluster: ${e}`));
  }
  log('stopped');
  process.exit(code);
}

// Output may go to a pipe whose reader is gone (e.g. `npm start | tee` interrupted): keep
// running the shutdown rather than dying on EPIPE.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => shutdown(0));
}
// Stop when the parent (scripts/run.mjs, npm) is killed without passing the signal on.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown(0);
}, 1000).unref();

async function waitFor(what, url, headers) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const res = await fetch(url, {
        headers,
        signal: AbortSignal.timeout(5000),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 1000));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms`);
}

async function main() {
  for (const [port, what] of [
    [7007, 'backend'],
    [3000, 'frontend'],
  ]) {
    if (!(await portFree(port)))
      throw new Error(
        `port ${port} (${what}) is in use; stop whatever listens there`,
      );
  }

  const env = { ...process.env };
  if (process.env.KUBECONFIG) {
    const file = process.env.KUBECONFIG.split(path.delimiter)[0];
    const c = clusterFromKubeconfig(file);
    log(`using the current context of ${file}: ${c.url}`);
    Object.assign(env, {
      LOCAL_CLUSTER_URL: c.url,
      LOCAL_CLUSTER_TOKEN: c.token,
      LOCAL_CLUSTER_CA_DATA: c.caData,
    });
  } else {
    const node = process.env.LOCAL_CLUSTER_NODE !== '0';
    log(
      `starting the embedded local cluster (${node ? 'etcd, kube-apiserver, controllers and a node' : 'etcd + kube-apiserver'})`,
    );
    require('@backstage/cli/config/nodeTransform.cjs');
    const { startLocalCluster } = require('@backstage-dex/local-cluster');
    cluster = await startLocalCluster({ node, onProgress: log });
    if (stopping) return;
    log(
      `local cluster ${cluster.version} at ${cluster.server} (kubeconfig: ${cluster.kubeconfigPath})`,
    );
    Object.assign(env, {
      LOCAL_CLUSTER_URL: cluster.server,
      LOCAL_CLUSTER_TOKEN: cluster.token,
      LOCAL_CLUSTER_CA_DATA: Buffer.from(cluster.caPem).toString('base64'),
      KUBECONFIG: cluster.kubeconfigPath,
    });
  }
  if (!env.BACKSTAGE_E2E_TOKEN) {
    env.BACKSTAGE_E2E_TOKEN = crypto.randomBytes(24).toString('hex');
  }
  // Interactive dev-server behaviour (e.g. opening a browser) is not wanted here.
  env.BROWSER = 'none';

  startPackage('backend', 'packages/backend', env);
  startPackage('app', 'packages/app', env);

  // Ready = the catalog has read examples/entities.yaml.
  await waitFor(
    'backend',
    `${BACKEND_URL}/api/catalog/entities/by-name/component/default/payments-api`,
    {
      authorization: `Bearer ${env.BACKSTAGE_E2E_TOKEN}`,
    },
  );
  await waitFor('frontend', APP_URL);
  if (stopping) return;
  log(
    `Backstage is ready: ${APP_URL} (backend ${BACKEND_URL}). Ctrl-C stops everything.`,
  );
}

main().catch(e => {
  log(e instanceof Error ? e.message : String(e));
  shutdown(1);
});
