import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  LocalCluster,
  ensureBinaries,
  peersDir,
} from '@backstage-dex/local-cluster';

const run = promisify(execFile);
/** A helm install that takes longer than this is a stuck run, not a measurement. */
const HELM_TIMEOUT_MS = 120_000;

const DEX_CHART = {
  archive: 'dex-chart-0.24.0.tar.gz',
  dir: 'dex-chart-0.24.0/charts/dex',
};
const AUTHENTICATOR_CHART = {
  archive: 'dex-k8s-authenticator-chart-1.4.0.tar.gz',
  dir: 'dex-k8s-authenticator-chart-1.4.0/charts/dex-k8s-authenticator',
};

/**
 * Helm, the peer a platform team would otherwise pick: helm 3 (built from the Go module proxy)
 * installing the official dex chart 0.24.0 and the dex-k8s-authenticator chart 1.4.0 from the
 * shared peers folder, one release after the other as a user would, each into a fresh namespace.
 */
export interface HelmPeer {
  /** Both charts into `namespace` (created by helm); the wall time is what the bench measures. */
  install(namespace: string): Promise<void>;
  close(): void;
}

export function helmPeer(cluster: LocalCluster): HelmPeer {
  const helm = ensureBinaries('helm').helm;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-helm-'));
  for (const chart of [DEX_CHART, AUTHENTICATOR_CHART]) {
    execFileSync('tar', [
      '-xzf',
      path.join(peersDir(), chart.archive),
      '-C',
      work,
      chart.dir,
    ]);
  }
  // Helm's own cache, config and data stay in the bench's folder, not in the user's home.
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(work, 'cache'),
    HELM_CONFIG_HOME: path.join(work, 'config'),
    HELM_DATA_HOME: path.join(work, 'data'),
  };
  const install = async (
    release: string,
    chartDir: string,
    namespace: string,
    values: unknown,
  ) => {
    const file = path.join(work, `${namespace}-${release}.json`);
    // Holds the client secret: readable by this user only, removed right after the install.
    fs.writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
    try {
      await run(
        helm,
        [
          'install',
          release,
          path.join(work, chartDir),
          '--namespace',
          namespace,
          '--create-namespace',
          '--kubeconfig',
          cluster.kubeconfigPath,
          '-f',
          file,
        ],
        { env, timeout: HELM_TIMEOUT_MS },
      );
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(
        `helm install ${release} into ${namespace} failed: ${(err.stderr || err.message).trim()}`,
      );
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  return {
    async install(namespace) {
      const v = helmValues(namespace, cluster.server);
      // The dex chart names its ClusterRole after the release: one release name per namespace.
      await install(`dex-${namespace}`, DEX_CHART.dir, namespace, v.dex);
      await install(
        `dex-k8s-authenticator-${namespace}`,
        AUTHENTICATOR_CHART.dir,
        namespace,
        v.authenticator,
      );
    },
    close() {
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * Values equivalent to the pack the bench provisions (benchSpec): the issuer, one static client
 * for the authenticator with a fresh secret, Dex's Kubernetes storage and an Ingress per host.
 * The authenticator chart's Ingress is extensions/v1beta1, which Kubernetes stopped serving in
 * 1.22, so it stays off: Helm writes one object fewer than we do.
 */
export function helmValues(namespace: string, apiServer: string) {
  const issuer = `https://${namespace}.dex.example.test`;
  const login = `${namespace}.login.example.test`;
  const secret = crypto.randomBytes(24).toString('base64url');
  const client = {
    id: 'kubernetes',
    name: 'Kubernetes',
    secret,
    redirectURIs: [`https://${login}/callback/local`],
  };
  return {
    dex: {
      config: {
        issuer,
        storage: { type: 'kubernetes', config: { inCluster: true } },
        oauth2: { skipApprovalScreen: true },
        staticClients: [client],
        enablePasswordDB: true,
      },
      ingress: {
        enabled: true,
        className: 'nginx',
        hosts: [
          {
            host: `${namespace}.dex.example.test`,
            paths: [{ path: '/', pathType: 'Prefix' }],
          },
        ],
      },
    },
    authenticator: {
      dexK8sAuthenticator: {
        clusters: [
          {
            name: 'local',
            short_description: 'local',
            description: 'local',
            client_id: client.id,
            client_secret: secret,
            issuer,
            k8s_master_uri: apiServer,
            redirect_uri: client.redirectURIs[0],
          },
        ],
      },
      ingress: { enabled: false },
    },
  };
}
