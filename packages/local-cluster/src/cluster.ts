import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ensureBinaries } from './binaries';
import { ownedWorkDir } from './workDir';
import { loopbackPki } from './certs';
import { kubeconfigYaml } from './kubeconfig';
import { controllerTokens, startControllers } from './controllers';
import { NODE_NAME, startNode, LocalNode } from './node/node';
import { httpsRequest } from './https';
import {
  freePort,
  isPortTaken,
  ManagedProcess,
  startProcess,
  waitFor,
} from './process';

export interface LocalClusterOptions {
  /** Extra kube-apiserver flags, e.g. the rendered `--oidc-*` flags. */
  apiServerFlags?: string[];
  /** An AuthenticationConfiguration document (YAML); passed as --authentication-config. */
  authenticationConfig?: string;
  /** Kubernetes release to run (a version built by scripts/build.mjs). */
  kubernetesVersion?: string;
  /**
   * Trust an OIDC issuer (e.g. a local Dex) with the `--oidc-*` flags; the CA is written into the
   * cluster's folder for --oidc-ca-file. Cannot be combined with `authenticationConfig`.
   */
  oidc?: LocalClusterOidc;
  /**
   * A living cluster: kube-controller-manager and kube-scheduler beside the apiserver, one node
   * (`local-node`) whose agent runs the pods bound to it with runPod, and loopback addresses for
   * Services of type LoadBalancer (README "The node"). Off by default: most tests need only the API.
   */
  node?: boolean;
  /** Called with a line per phase while starting (phase and elapsed time), e.g. `console.log`. */
  onProgress?: (line: string) => void;
  /**
   * Its processes do not keep Node alive: for a cluster that lives until the process exits
   * (they are killed then), e.g. `sharedLocalCluster`.
   */
  background?: boolean;
}

export interface LocalClusterOidc {
  /** https URL, exactly the `iss` of the tokens (the issuer need not be running yet). */
  issuerUrl: string;
  clientId: string;
  /** PEM of the CA that signed the issuer's serving certificate. */
  caPem: string;
  /** Default `email` (then a present email_verified claim must be true). */
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
}

function oidcFlags(oidc: LocalClusterOidc, caFile: string): string[] {
  const flags = [
    `--oidc-issuer-url=${oidc.issuerUrl}`,
    `--oidc-client-id=${oidc.clientId}`,
    `--oidc-ca-file=${caFile}`,
    `--oidc-username-claim=${oidc.usernameClaim ?? 'email'}`,
  ];
  if (oidc.usernamePrefix !== undefined)
    flags.push(`--oidc-username-prefix=${oidc.usernamePrefix}`);
  if (oidc.groupsClaim) flags.push(`--oidc-groups-claim=${oidc.groupsClaim}`);
  if (oidc.groupsPrefix !== undefined)
    flags.push(`--oidc-groups-prefix=${oidc.groupsPrefix}`);
  return flags;
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
  /** Folder with logs and data; removed by stop(). Empty for an existing cluster. */
  workDir: string;
  /** True when this is an existing cluster from a kubeconfig (see `existingCluster`). */
  external?: boolean;
  /** The node and its LoadBalancer controller (with `node: true`). */
  node?: LocalNode;
  /** Stops the apiserver only (etcd keeps the data), to inject an outage. */
  stopApiServer(): Promise<void>;
  /** Starts the apiserver again on the same port with the same data. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An existing cluster, from the current context of a kubeconfig (default: the first file of
 * $KUBECONFIG, else ~/.kube/config), in the shape of a LocalCluster. The context's user must
 * authenticate with a bearer token (`token` or `tokenFile`) and the cluster must name its CA
 * (`certificate-authority-data` or `certificate-authority`). stop() leaves the cluster alone;
 * stopApiServer/startApiServer are not possible.
 */
export async function existingCluster(
  kubeconfigPath?: string,
): Promise<LocalCluster> {
  const file =
    kubeconfigPath ??
    process.env.KUBECONFIG?.split(path.delimiter)[0] ??
    path.join(os.homedir(), '.kube', 'config');
  const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  const named = (list: any[] | undefined, name: string) =>
    (list ?? []).find(x => x?.name === name);
  const context = named(doc.contexts, doc['current-context'])?.context;
  if (!context) throw new Error(`${file}: no current context`);
  const cluster = named(doc.clusters, context.cluster)?.cluster;
  const user = named(doc.users, context.user)?.user ?? {};
  if (!cluster?.server)
    throw new Error(`${file}: cluster "${context.cluster}" has no server`);
  const resolve = (p: string) => path.resolve(path.dirname(file), p);
  let caPem: string | undefined;
  if (cluster['certificate-authority-data']) {
    caPem = Buffer.from(
      cluster['certificate-authority-data'],
      'base64',
    ).toString('utf8');
  } else if (cluster['certificate-authority']) {
    caPem = fs.readFileSync(resolve(cluster['certificate-authority']), 'utf8');
  }
  if (!caPem)
    throw new Error(
      `${file}: cluster "${context.cluster}" names no CA (certificate-authority-data or certificate-authority)`,
    );
  const token =
    user.token ??
    (user.tokenFile
      ? fs.readFileSync(resolve(user.tokenFile), 'utf8').trim()
      : undefined);
  if (!token) {
    throw new Error(
      `${file}: user "${context.user}" has no bearer token (token or tokenFile); client certificates and exec plugins are not read. ` +
        'Create one with `kubectl create token <service-account>`.',
    );
  }
  const server = String(cluster.server).replace(/\/$/, '');
  const res = await httpsRequest(`${server}/version`, {
    caPem,
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200)
    throw new Error(
      `${server}/version answered HTTP ${res.status}: ${res.body.slice(0, 300)}`,
    );
  const refuse = async () => {
    throw new Error(
      `${server} is an existing cluster (${file}); its apiserver cannot be stopped or started from here`,
    );
  };
  return {
    server,
    caPem,
    token,
    kubeconfig: kubeconfigYaml(server, caPem, token),
    kubeconfigPath: file,
    version: JSON.parse(res.body).gitVersion,
    workDir: '',
    external: true,
    stopApiServer: refuse,
    startApiServer: refuse,
    async stop() {},
  };
}

/**
 * etcd + kube-apiserver on loopback, built from their Go modules, on free ports.
 *
 * With DEX_USE_KUBECONFIG=1 and KUBECONFIG set (scripts/run.mjs then builds nothing), the
 * cluster of that kubeconfig is used instead (`existingCluster`), unless the caller needs its
 * own apiserver flags, which an existing cluster cannot take.
 */
export async function startLocalCluster(
  options: LocalClusterOptions = {},
): Promise<LocalCluster> {
  if (options.oidc && options.authenticationConfig) {
    throw new Error(
      'startLocalCluster: kube-apiserver cannot combine --authentication-config with --oidc-* flags; pass one of oidc, authenticationConfig',
    );
  }
  if (process.env.DEX_USE_KUBECONFIG === '1' && process.env.KUBECONFIG) {
    const own =
      options.oidc ||
      options.authenticationConfig ||
      options.apiServerFlags?.length ||
      options.kubernetesVersion;
    if (own) {
      throw new Error(
        'startLocalCluster: DEX_USE_KUBECONFIG=1 selects the existing cluster of $KUBECONFIG, but this caller needs its own ' +
          'kube-apiserver (OIDC flags, AuthenticationConfiguration or a version); unset DEX_USE_KUBECONFIG to build and run one.',
      );
    }
    return existingCluster();
  }
  // A port can still be taken between choosing it and the child's bind; start again on new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOwnCluster(options);
    } catch (e) {
      if (attempt >= 3 || !isPortTaken(e)) throw e;
    }
  }
}

async function startOwnCluster(
  options: LocalClusterOptions,
): Promise<LocalCluster> {
  const began = Date.now();
  const progress = (phase: string) =>
    options.onProgress?.(
      `local cluster: ${phase} (${((Date.now() - began) / 1000).toFixed(1)} s)`,
    );
  progress('checking the built binaries');
  const etcdBin = ensureBinaries('etcd').etcd;
  const k8s = ensureBinaries('kubernetes', options.kubernetesVersion);
  const workDir = ownedWorkDir('local-cluster-');
  const processes: ManagedProcess[] = [];
  let node: LocalNode | undefined;
  const stopAll = async () => {
    // The node's pods first: they hold forwarders to the apiserver.
    await node?.stop();
    // Killed, not terminated: their folder is removed next, and on SIGTERM etcd and the apiserver
    // wait for each other's open streams until the 5 s SIGKILL (a test file's stop took 5 s).
    await Promise.all(processes.map(p => p.kill()));
  };
  let stopped = false;
  try {
    const [clientPort, peerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    progress('starting etcd');
    const etcd = startProcess({
      name: 'etcd',
      bin: etcdBin,
      workDir,
      background: options.background,
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
    await waitFor(
      etcd,
      'healthy',
      async () => (await fetch(`${etcdUrl}/health`)).ok,
      30_000,
    );

    const pki = loopbackPki('kube-apiserver', [
      'localhost',
      'kubernetes',
      'kubernetes.default.svc',
    ]);
    const token = crypto.randomBytes(24).toString('hex');
    const files = {
      cert: path.join(workDir, 'apiserver.crt'),
      key: path.join(workDir, 'apiserver.key'),
      tokens: path.join(workDir, 'tokens.csv'),
      saKey: path.join(workDir, 'sa.key'),
      saPub: path.join(workDir, 'sa.pub'),
      authn: path.join(workDir, 'authentication-config.yaml'),
      oidcCa: path.join(workDir, 'oidc-ca.crt'),
      kubeconfig: path.join(workDir, 'kubeconfig'),
    };
    fs.writeFileSync(files.cert, pki.certPem);
    fs.writeFileSync(files.key, pki.keyPem, { mode: 0o600 });
    const controllers = controllerTokens();
    const nodeToken = crypto.randomBytes(24).toString('hex');
    const tokenLines = [`${token},admin,admin,system:masters`];
    if (options.node) {
      tokenLines.push(
        `${controllers['kube-controller-manager']},system:kube-controller-manager,kube-controller-manager`,
        `${controllers['kube-scheduler']},system:kube-scheduler,kube-scheduler`,
        // The node agent is a kubelet to the apiserver: the Node authorizer limits it to its pods' objects.
        `${nodeToken},system:node:${NODE_NAME},${NODE_NAME},system:nodes`,
      );
    }
    fs.writeFileSync(files.tokens, `${tokenLines.join('\n')}\n`, {
      mode: 0o600,
    });
    const sa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(
      files.saKey,
      sa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      files.saPub,
      sa.publicKey.export({ type: 'spki', format: 'pem' }),
    );
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
      `--authorization-mode=${options.node ? 'Node,RBAC' : 'RBAC'}`,
      `--cert-dir=${workDir}`,
      '--profiling=false',
      '--v=1',
      ...(options.apiServerFlags ?? []),
    ];
    if (options.oidc) {
      fs.writeFileSync(files.oidcCa, options.oidc.caPem);
      args.push(...oidcFlags(options.oidc, files.oidcCa));
    }
    if (options.authenticationConfig) {
      fs.writeFileSync(files.authn, options.authenticationConfig);
      args.push(`--authentication-config=${files.authn}`);
    }
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = kubeconfigYaml(server, pki.caPem, token);
    fs.writeFileSync(files.kubeconfig, kubeconfig, { mode: 0o600 });

    let apiserver: ManagedProcess | undefined;
    const startApiServer = async () => {
      if (stopped)
        throw new Error('startApiServer: the local cluster was stopped');
      if (apiserver && !apiserver.exited()) return;
      const proc = startProcess({
        name: 'kube-apiserver',
        bin: k8s['kube-apiserver'],
        args,
        workDir,
        background: options.background,
      });
      apiserver = proc;
      processes.push(proc);
      try {
        await waitFor(
          proc,
          'ready',
          async () => {
            const res = await httpsRequest(`${server}/readyz`, {
              caPem: pki.caPem,
              headers: { authorization: `Bearer ${token}` },
            });
            return res.status === 200;
          },
          120_000,
        );
      } catch (e) {
        await proc.stop();
        throw e;
      }
    };
    progress('starting kube-apiserver');
    await startApiServer();
    const versionRes = await httpsRequest(`${server}/version`, {
      caPem: pki.caPem,
      headers: { authorization: `Bearer ${token}` },
    });
    const version = JSON.parse(versionRes.body).gitVersion as string;
    if (options.node) {
      progress('starting kube-controller-manager and kube-scheduler');
      const caFile = path.join(workDir, 'ca.crt');
      fs.writeFileSync(caFile, pki.caPem);
      await startControllers({
        bins: k8s,
        workDir,
        server,
        caPem: pki.caPem,
        tokens: controllers,
        saKeyFile: files.saKey,
        caFile,
        background: options.background,
        onProcess: p => processes.push(p),
      });
      progress(`registering node ${NODE_NAME}`);
      node = await startNode({
        server,
        caPem: pki.caPem,
        apiServerPort: apiPort,
        nodeToken,
        adminToken: token,
        kubeletVersion: version,
      });
    }
    progress('ready');

    return {
      server,
      caPem: pki.caPem,
      token,
      kubeconfig,
      kubeconfigPath: files.kubeconfig,
      version,
      workDir,
      node,
      startApiServer,
      async stopApiServer() {
        await apiserver?.stop();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        fs.rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    // The error carries the failing process's log tail; nothing is left running or on disk.
    await stopAll();
    fs.rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
}
