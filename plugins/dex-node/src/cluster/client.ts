import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '@backstage-dex/plugin-dex-common';
import {
  clientNode,
  objectApi,
  shareConnections,
  withCallSignal,
} from './clientNode';

/**
 * Which object: enough to find it (the kind's API version, kind, name and namespace).
 *
 * @public
 */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * What the pack needs from a cluster, and nothing more: apply, provision and status go
 * through it, so a unit test can stand in for the cluster and the client-node implementation is
 * the one place that speaks the Kubernetes API. Errors carry the HTTP status as `code` (404, 409,
 * ...), as client-node's do; `describeKubeError` turns them into messages.
 *
 * @public
 */
export interface ClusterClient {
  /** The kube-apiserver's URL, for messages. */
  readonly server: string;
  /** The object as it is now, or undefined when there is none. */
  read(ref: ObjectRef): Promise<KubernetesObject | undefined>;
  /**
   * The objects of one kind whose labels match, in one namespace or (without) cluster-wide;
   * `signal` cancels the call (its requests, not only the wait).
   */
  list(
    kind: { apiVersion: string; kind: string; namespace?: string },
    labelSelector: string,
    options?: { signal?: AbortSignal },
  ): Promise<KubernetesObject[]>;
  /** Creates an object (409 when the name is taken). */
  create(object: KubernetesObject): Promise<KubernetesObject>;
  /**
   * Server-side apply under the pack's field manager, taking over conflicting fields; a
   * metadata.resourceVersion in the object is a precondition (409 when it changed).
   */
  apply(
    object: KubernetesObject,
    options?: { dryRun?: boolean },
  ): Promise<KubernetesObject>;
  /** The Kubernetes version (gitVersion, e.g. v1.35.4). */
  version(): Promise<string>;
}

/** A cluster's version changes only on upgrade: remembered for a minute. */
const VERSION_TTL_MS = 60_000;
const clients = new WeakMap<KubeConfig, ClusterClient>();

/**
 * The ClusterClient of a KubeConfig, through @kubernetes/client-node (one per KubeConfig, sharing
 * its connections and API discovery).
 *
 * @public
 */
export function clusterClient(kc: KubeConfig): ClusterClient {
  const known = clients.get(kc);
  if (known) return known;
  shareConnections(kc);
  let cachedVersion: { version: string; at: number } | undefined;
  const client: ClusterClient = {
    server: kc.getCurrentCluster()?.server ?? 'the cluster',
    async read(ref) {
      const api = await objectApi(kc);
      try {
        return await api.read({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace },
        });
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    async list(kind, labelSelector, options = {}) {
      const api = await objectApi(kc);
      const res = await withCallSignal(options.signal, () =>
        api.list(
          kind.apiVersion,
          kind.kind,
          kind.namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        ),
      );
      return res.items;
    },
    async create(object) {
      const api = await objectApi(kc);
      return api.create(object, undefined, undefined, FIELD_MANAGER);
    },
    async apply(object, options = {}) {
      const [k8s, api] = await Promise.all([clientNode(), objectApi(kc)]);
      return api.patch(
        object,
        undefined,
        options.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    },
    async version() {
      if (cachedVersion && Date.now() - cachedVersion.at < VERSION_TTL_MS)
        return cachedVersion.version;
      const k8s = await clientNode();
      const v = await kc.makeApiClient(k8s.VersionApi).getCode();
      cachedVersion = { version: v.gitVersion, at: Date.now() };
      return v.gitVersion;
    },
  };
  clients.set(kc, client);
  return client;
}

/** A ClusterClient as it is, or the one of a KubeConfig. */
export function asClusterClient(
  target: KubeConfig | ClusterClient,
): ClusterClient {
  return 'makeApiClient' in target ? clusterClient(target) : target;
}
