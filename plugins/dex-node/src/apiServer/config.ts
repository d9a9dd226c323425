import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';

/** The namespace and name of a Cluster API KubeadmControlPlane on the management cluster. */
export interface KubeadmControlPlaneRef {
  namespace: string;
  name: string;
}

/**
 * How a cluster's kube-apiserver gets the pack's OIDC settings (`dex.clusters.<name>.apiServer`):
 * `report` hands them back as flags and an AuthenticationConfiguration (someone applies them by
 * hand); `clusterApi` applies them to the workload cluster's KubeadmControlPlane.
 */
export type ApiServerMode =
  | { mode: 'report' }
  | {
      mode: 'clusterApi';
      /** One of the configured clusters: where the KubeadmControlPlane lives. */
      managementCluster: string;
      kubeadmControlPlane: KubeadmControlPlaneRef;
      /** `--oidc-*` flags, or an AuthenticationConfiguration file (Kubernetes 1.30+). */
      authentication: 'flags' | 'authenticationConfiguration';
    };

export const REPORT_MODE: ApiServerMode = { mode: 'report' };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads and checks `dex.clusters`: every entry must name a configured cluster, and a `clusterApi`
 * entry a configured management cluster and a valid KubeadmControlPlane namespace/name. All
 * problems are reported at once, so a bad config fails at startup with everything to change.
 * Clusters without an entry are in `report` mode.
 */
export function readApiServerModes(
  config: Config,
  clusterNames: string[],
): Map<string, ApiServerMode> {
  const modes = new Map<string, ApiServerMode>();
  const problems: string[] = [];
  const clusters = config.getOptionalConfig('dex.clusters');
  for (const name of clusters?.keys() ?? []) {
    const at = `dex.clusters.${name}.apiServer`;
    if (!clusterNames.includes(name)) {
      problems.push(
        `dex.clusters.${name}: no configured cluster is named "${name}" (configured: ${clusterNames.join(', ') || 'none'}); use a name from kubernetes.clusterLocatorMethods`,
      );
      continue;
    }
    const entry = clusters!.getConfig(name);
    /** A string setting; anything else (a number, a list) is a problem named by its key. */
    const read = (key: string): string | undefined => {
      const value = entry.getOptional(key);
      if (value === undefined || typeof value === 'string') return value;
      problems.push(
        `${at}.${key.replace(/^apiServer\./, '')}: must be a string, got ${JSON.stringify(value).slice(0, 50)}`,
      );
      return undefined;
    };
    const mode = read('apiServer.mode') ?? 'report';
    if (mode === 'report') {
      modes.set(name, REPORT_MODE);
      continue;
    }
    if (mode !== 'clusterApi') {
      problems.push(
        `${at}.mode: "${mode}" is not a mode; use report (hand back the flags) or clusterApi (apply them to a KubeadmControlPlane)`,
      );
      continue;
    }
    const before = problems.length;
    const management = read('apiServer.managementCluster');
    if (!management) {
      problems.push(
        `${at}.managementCluster: required in clusterApi mode; name the configured cluster that holds the KubeadmControlPlane`,
      );
    } else if (!clusterNames.includes(management)) {
      problems.push(
        `${at}.managementCluster: "${management}" is not a configured cluster (configured: ${clusterNames.join(', ')})`,
      );
    }
    const namespace = read('apiServer.kubeadmControlPlane.namespace');
    const kcpName = read('apiServer.kubeadmControlPlane.name');
    if (!namespace || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
      problems.push(
        `${at}.kubeadmControlPlane.namespace: ${namespace ? `"${namespace}" is not a namespace name (DNS-1123 label)` : 'required in clusterApi mode'}`,
      );
    }
    if (!kcpName || kcpName.length > 253 || !DNS_SUBDOMAIN.test(kcpName)) {
      problems.push(
        `${at}.kubeadmControlPlane.name: ${kcpName ? `"${kcpName}" is not an object name (DNS-1123 subdomain)` : 'required in clusterApi mode'}`,
      );
    }
    const authentication = read('apiServer.authentication') ?? 'flags';
    if (
      authentication !== 'flags' &&
      authentication !== 'authenticationConfiguration'
    ) {
      problems.push(
        `${at}.authentication: "${authentication}" is not supported; use flags or authenticationConfiguration`,
      );
    }
    if (problems.length === before) {
      modes.set(name, {
        mode: 'clusterApi',
        managementCluster: management!,
        kubeadmControlPlane: { namespace: namespace!, name: kcpName! },
        authentication: authentication as
          'flags' | 'authenticationConfiguration',
      });
    }
  }
  if (problems.length) {
    throw new InputError(
      `The dex.clusters configuration has ${problems.length} problem(s):\n- ${problems.join('\n- ')}`,
    );
  }
  return modes;
}

/** A cluster's mode: its `dex.clusters` entry, `report` without one. */
export function apiServerModeOf(
  modes: Map<string, ApiServerMode>,
  cluster: string,
): ApiServerMode {
  return modes.get(cluster) ?? REPORT_MODE;
}
