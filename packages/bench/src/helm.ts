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
  /**
   * Both charts into `namespace` (created by helm); the wall time is what the bench measures.
   * `values` replaces helmValues (e.g. helmValuesOnNode).
   */
  install(namespace: string, values?: HelmValues): Promise<void>;
  close(): void;
}

/** The values file of each chart. */
export interface HelmValues {
  dex: object;
  authenticator: object;
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
    async install(namespace, values) {
      const v = values ?? helmValues(namespace, cluster.server);
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

/**
 * helmValues for a cluster with a node, where the pods run: both Services of type LoadBalancer at
 * addresses chosen ahead (spec.loadBalancerIP), and the issuer on Dex's LoadBalancer address over
 * plain HTTP (the chart serves no TLS unless given a certificate), so the authenticator's pod
 * reaches Dex's discovery when it starts, as it must to become Ready.
 */
export function helmValuesOnNode(
  namespace: string,
  apiServer: string,
  addresses: { dex: string; authenticator: string },
): HelmValues {
  const values = helmValues(namespace, apiServer);
  const issuer = `http://${addresses.dex}:5556`;
  const redirect = `http://${addresses.authenticator}:5555/callback/local`;
  const [client] = values.dex.config.staticClients;
  return {
    dex: {
      ...values.dex,
      config: {
        ...values.dex.config,
        issuer,
        staticClients: [{ ...client, redirectURIs: [redirect] }],
      },
      service: { type: 'LoadBalancer', loadBalancerIP: addresses.dex },
      ingress: { enabled: false },
    },
    authenticator: {
      ...values.authenticator,
      dexK8sAuthenticator: {
        clusters: values.authenticator.dexK8sAuthenticator.clusters.map(c => ({
          ...c,
          issuer,
          redirect_uri: redirect,
        })),
      },
      service: {
        type: 'LoadBalancer',
        port: 5555,
        loadBalancerIP: addresses.authenticator,
      },
    },
  };
}
