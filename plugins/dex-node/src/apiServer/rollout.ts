import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import type {
  DexInstallation,
  KubeadmControlPlaneStatus,
} from '@backstage-dex/plugin-dex-common';
import {
  ClusterClient,
  asClusterClient,
  boundedClient,
} from '../cluster/client';
import { describeKubeError } from '../cluster/errors';
import { ANNOTATION_KCP_OIDC } from './kubeadmControlPlane';
import { ClusterApiRecord, clusterApiRecordOf } from './record';

/**
 * Reads a KubeadmControlPlane's rollout for the card: whether it carries this installation's
 * settings (its annotation names `owner`), its machines and how many run the current spec
 * (v1beta2 status.upToDateReplicas, v1beta1 status.updatedReplicas). One call, cancelled after
 * `timeoutMs`; failures are returned as `error`, never thrown.
 */
export async function readKubeadmControlPlaneStatus(
  kc: KubeConfig | ClusterClient | undefined,
  record: ClusterApiRecord,
  owner: string,
  timeoutMs: number,
): Promise<KubeadmControlPlaneStatus> {
  const { apiVersion: _apiVersion, ...base } = record;
  if (!kc) {
    return {
      ...base,
      error: `The management cluster "${record.managementCluster}" is not configured here, so the rollout cannot be read`,
    };
  }
  const client = boundedClient(asClusterClient(kc), { timeoutMs });
  try {
    const kcp = (await client.read({
      apiVersion: record.apiVersion,
      kind: 'KubeadmControlPlane',
      namespace: record.namespace,
      name: record.name,
    })) as {
      metadata?: { generation?: number; annotations?: Record<string, string> };
      spec?: { replicas?: number };
      status?: {
        replicas?: number;
        upToDateReplicas?: number;
        updatedReplicas?: number;
        observedGeneration?: number;
      };
    };
    if (!kcp)
      return {
        ...base,
        error: `KubeadmControlPlane ${record.namespace}/${record.name} does not exist on "${record.managementCluster}"`,
      };
    let applied = false;
    try {
      applied =
        JSON.parse(kcp.metadata?.annotations?.[ANNOTATION_KCP_OIDC] ?? '{}')
          .owner === owner;
    } catch {
      // someone else's annotation
    }
    const status = kcp.status ?? {};
    return {
      ...base,
      applied,
      rollout: {
        replicas: kcp.spec?.replicas ?? status.replicas ?? 0,
        updated: status.upToDateReplicas ?? status.updatedReplicas ?? 0,
        observedLatestSpec:
          (status.observedGeneration ?? 0) >= (kcp.metadata?.generation ?? 0),
      },
    };
  } catch (e) {
    const message =
      (e as Error)?.name === 'TimeoutError'
        ? `The management cluster "${record.managementCluster}" did not answer within ${timeoutMs} ms`
        : describeKubeError(
            e,
            `Reading KubeadmControlPlane ${record.namespace}/${record.name} on "${record.managementCluster}"`,
          ).message;
    return { ...base, error: message };
  }
}

/** Fills in the KubeadmControlPlane status of installations in `clusterApi` mode, concurrently. */
export async function addKubeadmControlPlaneStatus(
  installations: DexInstallation[],
  configMaps: V1ConfigMap[],
  managementCluster: (
    name: string,
  ) => Promise<KubeConfig | ClusterClient | undefined>,
  timeoutMs: number,
): Promise<void> {
  await Promise.all(
    installations.map(async installation => {
      const { cluster, namespace, instance } = installation;
      const cm = configMaps.find(
        c =>
          c.metadata?.namespace === namespace &&
          c.metadata?.name === `${instance}-apiserver-settings`,
      );
      const record = clusterApiRecordOf(cm?.data);
      if (!record) return;
      const kc = await managementCluster(record.managementCluster).catch(
        () => undefined,
      );
      installation.kubeadmControlPlane = await readKubeadmControlPlaneStatus(
        kc,
        record,
        `${cluster}/${namespace}/${instance}`,
        timeoutMs,
      );
    }),
  );
}
