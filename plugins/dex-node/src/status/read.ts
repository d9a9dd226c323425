import { InputError } from '@backstage/errors';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ANNOTATION_OWNER_ENTITY_REF,
  ClusterError,
  DexInstallation,
  LABEL_COMPONENT,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  PlatformPolicy,
  isLabelValue,
} from '@backstage-dex/plugin-dex-common';
import {
  ClusterClient,
  asClusterClient,
  boundedClient,
} from '../cluster/client';
import { describeKubeError } from '../cluster/errors';
import { addKubeadmControlPlaneStatus } from '../apiServer/rollout';
import { StatusCache } from './cache';
import { installationsFromSnapshot } from './mapping';
import { LISTED, snapshotFromLists } from './snapshot';
import { ClusterSnapshot, KubernetesCall, StatusResource } from './types';
import { StatusWatches } from './watches';

/** A cluster to ask, with a KubeConfig for it (see kubeConfigFor) or a ClusterClient. */
export interface StatusClusterTarget {
  name: string;
  kc: KubeConfig | ClusterClient;
}

export interface ReadDexStatusOptions {
  clusters: StatusClusterTarget[];
  /** The `backstage.io/kubernetes-id` label value of the entity's objects. */
  kubernetesId: string;
  /**
   * The entity's full ref (kind:namespace/name): only objects the action stamped with it count, so
   * same-named entities of other kinds or namespaces do not see each other's installations.
   */
  entityRef: string;
  /** Default versions to compare the running ones with; DEFAULT_POLICY when absent. */
  policy?: PlatformPolicy;
  /** Upper bound per cluster: a cluster slower than this yields an error instead (default 5000). */
  timeoutMs?: number;
  /**
   * Watch-fed copies of the clusters: a cluster whose copy is current is read from memory; one
   * whose copy is not (watch down, or a client that cannot watch) is listed (through `cache`).
   */
  watches?: StatusWatches;
  /** Snapshots shared across calls (short TTL, in-flight coalescing); none: every call lists. */
  cache?: StatusCache<ClusterSnapshot>;
  /** Called once per Kubernetes API call, for counters in tests and benchmarks. */
  onKubernetesCall?: (call: KubernetesCall) => void;
  /** "Now" for certificates' days left. */
  now?: Date;
  /**
   * The KubeConfig of a configured cluster by name, for the rollout of KubeadmControlPlanes that
   * installations in `clusterApi` mode name (one call each, within `timeoutMs`); not read without.
   */
  managementCluster?: (
    name: string,
  ) => Promise<KubeConfig | ClusterClient | undefined>;
}

export interface DexStatus {
  installations: DexInstallation[];
  errors: ClusterError[];
}

export const DEFAULT_STATUS_TIMEOUT_MS = 5000;

/** The label selector of an entity's Dex objects. */
export function statusLabelSelector(kubernetesId: string): string {
  if (!kubernetesId || !isLabelValue(kubernetesId)) {
    throw new InputError(
      `"${kubernetesId}" is not a valid Kubernetes label value for ${LABEL_KUBERNETES_ID}; use at most 63 letters, digits, "-", "_" or "."`,
    );
  }
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_KUBERNETES_ID}=${kubernetesId}`;
}

/**
 * Lists an entity's Dex objects on one cluster: one cluster-wide list per kind, all at once, so
 * the number of calls does not depend on the number of installations. No Secret is read: the
 * certificates come from the ConfigMap the pack publishes them in.
 */
export async function readClusterSnapshot(
  target: KubeConfig | ClusterClient,
  options: {
    cluster: string;
    kubernetesId: string;
    signal?: AbortSignal;
    onKubernetesCall?: (call: KubernetesCall) => void;
  },
): Promise<ClusterSnapshot> {
  const labelSelector = statusLabelSelector(options.kubernetesId);
  const cluster = asClusterClient(target);
  const list = async (resource: StatusResource) => {
    options.onKubernetesCall?.({ cluster: options.cluster, resource });
    const { fields, ...kind } = LISTED[resource];
    return cluster.list(
      kind,
      // Only the pack's shared ConfigMaps (certificates, API-server settings), not the
      // authenticator's config: a third less to send and parse per installation.
      resource === 'configmaps'
        ? `${labelSelector},!${LABEL_COMPONENT}`
        : labelSelector,
      { signal: options.signal, fields },
    );
  };
  const [deployments, services, ingresses, configMaps] = await Promise.all([
    list('deployments'),
    list('services'),
    list('ingresses'),
    list('configmaps'),
  ]);
  return snapshotFromLists({ deployments, services, ingresses, configMaps });
}

/** Only the objects stamped for the entity (ANNOTATION_OWNER_ENTITY_REF). */
function stampedFor(
  snapshot: ClusterSnapshot,
  entityRef: string,
): ClusterSnapshot {
  const mine = (meta: { annotations?: Record<string, string> } | undefined) =>
    meta?.annotations?.[ANNOTATION_OWNER_ENTITY_REF] === entityRef;
  return {
    deployments: snapshot.deployments.filter(o => mine(o.metadata)),
    services: snapshot.services.filter(o => mine(o.metadata)),
    ingresses: snapshot.ingresses.filter(o => mine(o.metadata)),
    tlsSecrets: snapshot.tlsSecrets.filter(c => c.entityRef === entityRef),
    configMaps: snapshot.configMaps.filter(o => mine(o.metadata)),
  };
}

/**
 * The Dex installations of an entity across clusters. Clusters are asked in parallel, each within
 * `timeoutMs`; a cluster that fails or is too slow yields a ClusterError next to the others'
 * installations.
 */
export async function readDexStatus(
  options: ReadDexStatusOptions,
): Promise<DexStatus> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  statusLabelSelector(options.kubernetesId);
  const now = options.now ?? new Date();

  const results = await Promise.all(
    options.clusters.map(async ({ name, kc }) => {
      // The lists run at once, each within timeoutMs: the cluster answers within the bound or
      // yields an error.
      const cluster = boundedClient(asClusterClient(kc), { timeoutMs });
      const load = () =>
        readClusterSnapshot(cluster, {
          cluster: name,
          kubernetesId: options.kubernetesId,
          onKubernetesCall: options.onKubernetesCall,
        });
      const listed = () =>
        options.cache
          ? options.cache.get(StatusCache.key(name, options.kubernetesId), load)
          : load();
      try {
        const watched = await options.watches?.snapshot(
          name,
          asClusterClient(kc),
          options.kubernetesId,
          timeoutMs,
        );
        const s = watched ?? (await listed());
        const server = cluster.server;
        const mine = stampedFor(s, options.entityRef);
        const installations = installationsFromSnapshot(
          { name, server },
          mine,
          { policy: options.policy, now },
        );
        if (options.managementCluster)
          await addKubeadmControlPlaneStatus(
            installations,
            mine.configMaps,
            options.managementCluster,
            timeoutMs,
          );
        return { installations };
      } catch (e) {
        const message =
          (e as Error)?.name === 'TimeoutError' ||
          (e as Error)?.name === 'AbortError'
            ? `Cluster "${name}" did not answer within ${timeoutMs} ms`
            : describeKubeError(
                e,
                `Listing the Dex objects on cluster "${name}"`,
              ).message;
        return { error: { cluster: name, message } };
      }
    }),
  );
  return {
    installations: results.flatMap(r => r.installations ?? []),
    errors: results.flatMap(r => (r.error ? [r.error] : [])),
  };
}
