import type { KubeadmControlPlaneStatus } from '@backstage-dex/plugin-dex-common';
import type { KubeObject } from '../pack/render';

/**
 * Keys of the pack's `<instance>-apiserver-settings` ConfigMap that record where the settings
 * went in `clusterApi` mode (absent in `report` mode). Nothing secret: names only.
 */
const KEYS = {
  mode: 'apiserver-mode',
  authentication: 'apiserver-authentication',
  kubeadmControlPlane: 'kubeadm-control-plane',
  apiVersion: 'kubeadm-control-plane-api-version',
} as const;

/** Where a pack's settings were applied: a KubeadmControlPlane on a management cluster. */
export interface ClusterApiRecord {
  managementCluster: string;
  namespace: string;
  name: string;
  /** As the management cluster serves it, e.g. controlplane.cluster.x-k8s.io/v1beta2. */
  apiVersion: string;
  authentication: KubeadmControlPlaneStatus['authentication'];
}

/** The rendered objects with the settings ConfigMap recording the KubeadmControlPlane target. */
export function recordClusterApiTarget(
  objects: KubeObject[],
  configMapName: string,
  record: ClusterApiRecord,
): KubeObject[] {
  return objects.map(o =>
    o.kind === 'ConfigMap' && o.metadata.name === configMapName
      ? {
          ...o,
          data: {
            ...(o.data as Record<string, string>),
            [KEYS.mode]: 'clusterApi',
            [KEYS.authentication]: record.authentication,
            [KEYS.kubeadmControlPlane]: `${record.managementCluster}/${record.namespace}/${record.name}`,
            [KEYS.apiVersion]: record.apiVersion,
          },
        }
      : o,
  );
}

/** What recordClusterApiTarget wrote, from the ConfigMap's data; undefined in report mode. */
export function clusterApiRecordOf(
  data: Record<string, string> | undefined,
): ClusterApiRecord | undefined {
  if (data?.[KEYS.mode] !== 'clusterApi') return undefined;
  const [managementCluster, namespace, name] = (
    data[KEYS.kubeadmControlPlane] ?? ''
  ).split('/');
  if (!managementCluster || !namespace || !name) return undefined;
  return {
    managementCluster,
    namespace,
    name,
    apiVersion:
      data[KEYS.apiVersion] ?? 'controlplane.cluster.x-k8s.io/v1beta2',
    authentication:
      data[KEYS.authentication] === 'authenticationConfiguration'
        ? 'authenticationConfiguration'
        : 'flags',
  };
}
