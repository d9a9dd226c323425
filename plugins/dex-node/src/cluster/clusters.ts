import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode, shareConnections } from './clientNode';

/** Where a pod's service-account token is mounted (serviceAccount clusters without a token). */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
/** `kubectl proxy`'s address, as the Kubernetes plugin's localKubectlProxy locator assumes. */
const KUBECTL_PROXY_URL = 'http://localhost:8001';
/** The name of the cluster dex.useLocalKubeconfig adds. */
const LOCAL_KUBECONFIG_CLUSTER = 'local';

/**
 * A cluster as the Backstage Kubernetes plugin configures it (`kubernetes.clusterLocatorMethods`),
 * so platform teams configure clusters once.
 *
 * @public
 */
export interface ClusterDetails {
  name: string;
  url: string;
  /** serviceAccount (a token), localKubectlProxy (no credentials) or kubeconfig (dex.useLocalKubeconfig). */
  authProvider: 'serviceAccount' | 'localKubectlProxy' | 'kubeconfig';
  serviceAccountToken?: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  /** Set for dex.useLocalKubeconfig: the file whose current context to use instead of the fields above. */
  kubeconfig?: { path: string };
}

const SUPPORTED =
  'type config (authProvider serviceAccount) or localKubectlProxy, or dex.useLocalKubeconfig: true';

/**
 * The clusters of `kubernetes.clusterLocatorMethods`, read as @backstage/plugin-kubernetes-backend
 * reads them, plus the local kubeconfig's current context when `dex.useLocalKubeconfig` is true.
 * A locator type or auth provider the Dex plugins cannot use is refused, naming it: a silent
 * fallback would install into whatever cluster happens to be reachable.
 *
 * @public
 */
export function readClusters(config: Config): ClusterDetails[] {
  const clusters: ClusterDetails[] = [];
  const methods =
    config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ?? [];
  methods.forEach((method, i) => {
    const type = method.getString('type');
    const at = `kubernetes.clusterLocatorMethods[${i}]`;
    if (type === 'localKubectlProxy') {
      clusters.push({
        name: 'local',
        url: KUBECTL_PROXY_URL,
        authProvider: 'localKubectlProxy',
      });
      return;
    }
    if (type !== 'config') {
      throw new InputError(
        `${at}: the Dex plugins cannot use clusters of type "${type}"; use ${SUPPORTED}`,
      );
    }
    (method.getOptionalConfigArray('clusters') ?? []).forEach((c, j) => {
      const name = c.getString('name');
      const authProvider = c.getString('authProvider');
      if (authProvider !== 'serviceAccount') {
        throw new InputError(
          `${at}.clusters[${j}] ("${name}"): the Dex plugins cannot use authProvider "${authProvider}"; use serviceAccount with serviceAccountToken`,
        );
      }
      clusters.push({
        name,
        url: c.getString('url'),
        authProvider,
        serviceAccountToken: c.getOptionalString('serviceAccountToken'),
        caData: c.getOptionalString('caData'),
        caFile: c.getOptionalString('caFile'),
        skipTLSVerify: c.getOptionalBoolean('skipTLSVerify') ?? false,
      });
    });
  });
  if (config.getOptionalBoolean('dex.useLocalKubeconfig'))
    clusters.push(localKubeconfigCluster());
  const seen = new Set<string>();
  for (const c of clusters) {
    if (seen.has(c.name)) {
      throw new InputError(
        `Two clusters are named "${c.name}" (kubernetes.clusterLocatorMethods, dex.useLocalKubeconfig); rename one`,
      );
    }
    seen.add(c.name);
  }
  return clusters;
}

/**
 * The kubeconfig's current context as the cluster "local": $KUBECONFIG (its first file) or
 * ~/.kube/config. The context is read when connecting, by client-node's KubeConfig.
 */
function localKubeconfigCluster(): ClusterDetails {
  const file = (
    process.env.KUBECONFIG ?? path.join(os.homedir(), '.kube', 'config')
  ).split(path.delimiter)[0];
  if (!file || !fs.existsSync(file)) {
    throw new InputError(
      `dex.useLocalKubeconfig is true, but there is no kubeconfig at ${file}; set KUBECONFIG or remove the setting`,
    );
  }
  return {
    name: LOCAL_KUBECONFIG_CLUSTER,
    url: '',
    authProvider: 'kubeconfig',
    kubeconfig: { path: file },
  };
}

/**
 * Finds a configured cluster by name, or says which names exist.
 *
 * @public
 */
export function findCluster(
  clusters: ClusterDetails[],
  name: string,
): ClusterDetails {
  const found = clusters.find(c => c.name === name);
  if (!found) {
    throw new NotFoundError(
      `Unknown cluster "${name}"; configured clusters: ${clusters.map(c => c.name).join(', ') || '(none: configure kubernetes.clusterLocatorMethods)'}`,
    );
  }
  return found;
}

/**
 * A KubeConfig for one cluster, with its credentials; validated so bad config fails clearly.
 *
 * @public
 */
export async function kubeConfigFor(
  cluster: ClusterDetails,
): Promise<KubeConfig> {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  if (cluster.kubeconfig) {
    kc.loadFromFile(cluster.kubeconfig.path);
    if (!kc.getCurrentCluster()) {
      throw new InputError(
        `Cluster "${cluster.name}": the current context ("${kc.getCurrentContext()}") of ${cluster.kubeconfig.path} names no cluster; run kubectl config use-context NAME`,
      );
    }
    return shareConnections(kc);
  }
  try {
    // eslint-disable-next-line no-new
    new URL(cluster.url);
  } catch {
    throw new InputError(
      `Cluster "${cluster.name}": url "${cluster.url}" is not a URL; set it to https://host:port of the kube-apiserver`,
    );
  }
  let token = cluster.serviceAccountToken;
  let caData = cluster.caData;
  let caFile = cluster.caFile;
  if (cluster.authProvider === 'serviceAccount' && !token) {
    // As the Kubernetes plugin does: without a token, the backend's own pod service account.
    if (!fs.existsSync(IN_CLUSTER_TOKEN)) {
      throw new InputError(
        `Cluster "${cluster.name}" has no serviceAccountToken and the backend runs outside a pod (no ${IN_CLUSTER_TOKEN}); set serviceAccountToken`,
      );
    }
    token = fs.readFileSync(IN_CLUSTER_TOKEN, 'utf8').trim();
    if (!caData && !caFile && fs.existsSync(IN_CLUSTER_CA))
      caFile = IN_CLUSTER_CA;
  }
  if (!caData && caFile) caData = fs.readFileSync(caFile).toString('base64');
  if (caData) {
    const pem = Buffer.from(caData, 'base64').toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InputError(
        `Cluster "${cluster.name}": caData is not a base64-encoded PEM certificate; set it to the base64 of the cluster CA's PEM`,
      );
    }
  }
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.url,
        caData,
        skipTLSVerify: cluster.skipTLSVerify ?? false,
      },
    ],
    users: [token ? { name: 'backstage', token } : { name: 'backstage' }],
    contexts: [
      { name: cluster.name, cluster: cluster.name, user: 'backstage' },
    ],
    currentContext: cluster.name,
  });
  return shareConnections(kc);
}

/**
 * Where users reach a cluster's kube-apiserver: what the kubeconfigs the authenticator hands out say.
 *
 * @public
 */
export interface ClusterApiServer {
  url?: string;
  /** PEM of the CA that signed the kube-apiserver's certificate. */
  caPem?: string;
}

/**
 * The kube-apiserver URL and CA of a configured cluster, as its configuration says (url and
 * caData/caFile, or the kubeconfig's cluster). Reads no network.
 *
 * @public
 */
export async function clusterApiServer(
  cluster: ClusterDetails,
): Promise<ClusterApiServer> {
  let url: string | undefined = cluster.url || undefined;
  let caData = cluster.caData;
  let caFile = cluster.caFile;
  if (cluster.kubeconfig) {
    const current = (await kubeConfigFor(cluster)).getCurrentCluster();
    url = current?.server;
    caData = current?.caData;
    caFile = current?.caFile;
  }
  let caPem: string | undefined;
  if (caData) caPem = Buffer.from(caData, 'base64').toString('utf8');
  else if (caFile && fs.existsSync(caFile))
    caPem = fs.readFileSync(caFile, 'utf8');
  return {
    url,
    caPem: caPem?.includes('-----BEGIN CERTIFICATE-----') ? caPem : undefined,
  };
}

/**
 * The spec with the authenticator's apiServerUrl and apiServerCaPem filled from the target
 * cluster where the spec leaves them out, so the kubeconfig it hands out reaches that cluster.
 * A plain-http URL is not taken (the kubeconfig would send tokens in clear).
 *
 * @public
 */
export function withClusterApiServer<
  T extends {
    authenticator: { apiServerUrl?: string; apiServerCaPem?: string };
  },
>(spec: T, apiServer: ClusterApiServer): T {
  const url =
    spec.authenticator.apiServerUrl ??
    (apiServer.url?.startsWith('https://') ? apiServer.url : undefined);
  const caPem = spec.authenticator.apiServerCaPem ?? apiServer.caPem;
  return {
    ...spec,
    authenticator: {
      ...spec.authenticator,
      ...(url ? { apiServerUrl: url } : {}),
      ...(caPem ? { apiServerCaPem: caPem } : {}),
    },
  };
}
