/**
 * kube-controller-manager and kube-scheduler beside the local apiserver: the real controllers
 * (Deployments -> ReplicaSets -> Pods, EndpointSlices, ServiceAccounts and their tokens, node
 * lifecycle) and the real scheduler, each with a kubeconfig of its own identity.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { kubeconfigYaml } from './kubeconfig';
import { freePort, ManagedProcess, startProcess, waitFor } from './process';

/** The identities the controllers authenticate as (bootstrap RBAC binds roles to these users). */
export const CONTROLLER_USERS = {
  'kube-controller-manager': 'system:kube-controller-manager',
  'kube-scheduler': 'system:kube-scheduler',
} as const;

export type ControllerName = keyof typeof CONTROLLER_USERS;

/** A bearer token per controller, for the apiserver's --token-auth-file. */
export function controllerTokens(): Record<ControllerName, string> {
  return {
    'kube-controller-manager': crypto.randomBytes(24).toString('hex'),
    'kube-scheduler': crypto.randomBytes(24).toString('hex'),
  };
}

/** GET /healthz of a component's own (self-signed) serving port. */
function healthy(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/healthz',
        // Its serving certificate is one it made itself (--cert-dir): only liveness is asked here.
        rejectUnauthorized: false,
        timeout: 2000,
      },
      res => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Starts kube-controller-manager and kube-scheduler against `server` and waits until both answer
 * /healthz. The controller manager signs ServiceAccount tokens with the apiserver's key and
 * publishes its CA (kube-root-ca.crt); each controller uses its own ServiceAccount.
 */
export async function startControllers(options: {
  bins: Record<string, string>;
  workDir: string;
  server: string;
  caPem: string;
  tokens: Record<ControllerName, string>;
  saKeyFile: string;
  caFile: string;
  background?: boolean;
  onProcess: (p: ManagedProcess) => void;
}): Promise<void> {
  const start = async (name: ControllerName, extra: string[]) => {
    const dir = path.join(options.workDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      kubeconfigYaml(
        options.server,
        options.caPem,
        options.tokens[name],
        CONTROLLER_USERS[name],
      ),
      { mode: 0o600 },
    );
    const port = await freePort();
    const proc = startProcess({
      name,
      bin: options.bins[name],
      workDir: options.workDir,
      background: options.background,
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${dir}`,
        // One instance: no leader election to wait for.
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
        ...extra,
      ],
    });
    options.onProcess(proc);
    return { proc, port };
  };
  const started = await Promise.all([
    start('kube-controller-manager', [
      `--service-account-private-key-file=${options.saKeyFile}`,
      `--root-ca-file=${options.caFile}`,
      '--use-service-account-credentials=true',
      '--cluster-name=local',
      // No cloud: nothing allocates node CIDRs or routes (pods get their addresses from the node agent).
      '--allocate-node-cidrs=false',
      '--configure-cloud-routes=false',
      // The node's Ready condition is noticed (and its not-ready taint lifted) within a second, not five.
      '--node-monitor-period=1s',
    ]),
    start('kube-scheduler', []),
  ]);
  await Promise.all(
    started.map(({ proc, port }) =>
      waitFor(proc, 'healthy', () => healthy(port), 120_000),
    ),
  );
}
