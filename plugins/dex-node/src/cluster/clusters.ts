import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode, shareConnections } from './clientNode';

/**
 * A cluster as the Backstage Kubernetes plugin configures it
 * (`kubernetes.clusterLocatorMethods`, type `config`), so platform teams configure clusters once.
 */
export interface ClusterDetails {
  name: string;
  url: string;
  authProvider: string;
  serviceAccountToken?: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  /** Set for the kubeconfig fallback: the file and context to use instead of the fields above. */
  kubeconfig?: { path: string; context: string };
}

/** Clusters from `kubernetes.clusterLocatorMethods`; the local kubeconfig's current context when none. */
export function readClusters(config: Config): ClusterDetails[] {
  const clusters: ClusterDetails[] = [];
  for (const method of config.getOptionalConfigArray('kubernetes.clusterLocatorMethods') ?? []) {
    if (method.getString('type') !== 'config') continue;
    for (const c of method.getOptionalConfigArray('clusters') ?? []) {
      clusters.push({
        name: c.getString('name'),
        url: c.getString('url'),
        authProvider: c.getOptionalString('authProvider') ?? 'serviceAccount',
        serviceAccountToken: c.getOptionalString('serviceAccountToken'),
        caData: c.getOptionalString('caData'),
        caFile: c.getOptionalString('caFile'),
        skipTLSVerify: c.getOptionalBoolean('skipTLSVerify') ?? false,
      });
    }
  }
  if (clusters.length === 0) {
    const fallback = kubeconfigFallback();
    if (fallback) clusters.push(fallback);
  }
  return clusters;
}

function kubeconfigFallback(): ClusterDetails | undefined {
  const file = (process.env.KUBECONFIG ?? path.join(os.homedir(), '.kube', 'config')).split(path.delimiter)[0];
  if (!file || !fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  const context = /^current-context:\s*"?([^"\n]+)"?\s*$/m.exec(text)?.[1];
  if (!context) return undefined;
  return { name: context, url: '', authProvider: 'kubeconfig', kubeconfig: { path: file, context } };
}

/** Finds a configured cluster by name, or says which names exist. */
export function findCluster(clusters: ClusterDetails[], name: string): ClusterDetails {
  const found = clusters.find(c => c.name === name);
  if (!found) {
    throw new NotFoundError(
      `Unknown cluster "${name}"; configured clusters: ${clusters.map(c => c.name).join(', ') || '(none: configure kubernetes.clusterLocatorMethods)'}`,
    );
  }
  return found;
}

/** A KubeConfig for one cluster, with its credentials; validated so bad config fails clearly. */
export async function kubeConfigFor(cluster: ClusterDetails): Promise<KubeConfig> {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  if (cluster.kubeconfig) {
    kc.loadFromFile(cluster.kubeconfig.path);
    kc.setCurrentContext(cluster.kubeconfig.context);
    return shareConnections(kc);
  }
  if (cluster.authProvider !== 'serviceAccount') {
    throw new InputError(
      `Cluster "${cluster.name}" uses authProvider "${cluster.authProvider}"; the Dex plugins support serviceAccount (with serviceAccountToken)`,
    );
  }
  let caData = cluster.caData;
  if (!caData && cluster.caFile) caData = fs.readFileSync(cluster.caFile).toString('base64');
  if (caData) {
    const pem = Buffer.from(caData, 'base64').toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InputError(
        `Cluster "${cluster.name}": caData is not a base64-encoded PEM certificate; set it to the base64 of the cluster CA's PEM`,
      );
    }
  }
  try {
    // eslint-disable-next-line no-new
    new URL(cluster.url);
  } catch {
    throw new InputError(`Cluster "${cluster.name}": url "${cluster.url}" is not a URL; set it to https://host:port of the kube-apiserver`);
  }
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.url, caData, skipTLSVerify: cluster.skipTLSVerify ?? false }],
    users: [{ name: 'backstage', token: cluster.serviceAccountToken }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'backstage' }],
    currentContext: cluster.name,
  });
  return shareConnections(kc);
}
