import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBinaries } from './binaries';
import { loopbackPki } from './certs';
import { httpsRequest } from './https';
import { freePort, ManagedProcess, startProcess, waitFor } from './process';

export interface LocalClusterOptions {
  /** Extra kube-apiserver flags, e.g. the rendered `--oidc-*` flags. */
  apiServerFlags?: string[];
  /** An AuthenticationConfiguration document (YAML); passed as --authentication-config. */
  authenticationConfig?: string;
  /** Kubernetes release to run (a version built by scripts/build.mjs). */
  kubernetesVersion?: string;
}

export interface LocalCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  caPem: string;
  /** A cluster-admin bearer token (system:masters). */
  token: string;
  /** Kubeconfig (YAML) for that admin user, and the same written to a file. */
  kubeconfig: string;
  kubeconfigPath: string;
  /** The gitVersion /version reports, e.g. v1.35.4. */
  version: string;
  /** Folder with logs and data; removed by stop(). */
  workDir: string;
  /** Stops the apiserver only (etcd keeps the data), to inject an outage. */
  stopApiServer(): Promise<void>;
  /** Starts the apiserver again on the same port with the same data. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: local',
    '  context: {cluster: local, user: admin}',
    'current-context: local',
    '',
  ].join('\n');
}

/** etcd + kube-apiserver on loopback, built from their Go modules, on free ports. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const etcdBin = ensureBinaries('etcd').etcd;
  const k8s = ensureBinaries('kubernetes', options.kubernetesVersion);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cluster-'));
  const processes: ManagedProcess[] = [];
  const stopAll = async () => {
    await Promise.all(processes.map(p => p.stop()));
  };
  try {
    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = startProcess({
      name: 'etcd',
      bin: etcdBin,
      workDir,
      args: [
        `--data-dir=${path.join(workDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    processes.push(etcd);
    await waitFor(etcd, 'healthy', async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000);

    const pki = loopbackPki('kube-apiserver', ['localhost', 'kubernetes', 'kubernetes.default.svc']);
    const token = crypto.randomBytes(24).toString('hex');
    const files = {
      cert: path.join(workDir, 'apiserver.crt'),
      key: path.join(workDir, 'apiserver.key'),
      tokens: path.join(workDir, 'tokens.csv'),
      saKey: path.join(workDir, 'sa.key'),
      saPub: path.join(workDir, 'sa.pub'),
      authn: path.join(workDir, 'authentication-config.yaml'),
      kubeconfig: path.join(workDir, 'kubeconfig'),
    };
    fs.writeFileSync(files.cert, pki.certPem);
    fs.writeFileSync(files.key, pki.keyPem, { mode: 0o600 });
    fs.writeFileSync(files.tokens, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const sa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(files.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(files.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const args = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${files.cert}`,
      `--tls-private-key-file=${files.key}`,
      `--token-auth-file=${files.tokens}`,
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=RBAC',
      `--cert-dir=${workDir}`,
      '--profiling=false',
      '--v=1',
      ...(options.apiServerFlags ?? []),
    ];
    if (options.authenticationConfig) {
      fs.writeFileSync(files.authn, options.authenticationConfig);
      args.push(`--authentication-config=${files.authn}`);
    }
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = kubeconfigYaml(server, pki.caPem, token);
    fs.writeFileSync(files.kubeconfig, kubeconfig, { mode: 0o600 });

    let apiserver: ManagedProcess | undefined;
    const startApiServer = async () => {
      apiserver = startProcess({ name: 'kube-apiserver', bin: k8s['kube-apiserver'], args, workDir });
      processes.push(apiserver);
      const proc = apiserver;
      await waitFor(proc, 'ready', async () => {
        const res = await httpsRequest(`${server}/readyz`, {
          caPem: pki.caPem,
          headers: { authorization: `Bearer ${token}` },
        });
        return res.status === 200;
      }, 120_000);
    };
    await startApiServer();
    const versionRes = await httpsRequest(`${server}/version`, {
      caPem: pki.caPem,
      headers: { authorization: `Bearer ${token}` },
    });
    const version = JSON.parse(versionRes.body).gitVersion as string;

    return {
      server,
      caPem: pki.caPem,
      token,
      kubeconfig,
      kubeconfigPath: files.kubeconfig,
      version,
      workDir,
      startApiServer,
      async stopApiServer() {
        await apiserver?.stop();
      },
      async stop() {
        await stopAll();
        fs.rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
