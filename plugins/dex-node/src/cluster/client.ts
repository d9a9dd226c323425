import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '@backstage-dex/plugin-dex-common';
import {
  kubeRequest,
  kubeRequestBytes,
  kubeStream,
  shareConnections,
} from './clientNode';
import {
  PROTOBUF_CONTENT_TYPE,
  ProtoMessage,
  decodeList,
  projectJson,
} from './protobuf';
import { builtInPath, objectPath } from './resources';

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
 * Options of every call: `signal` cancels it (its request, not only the wait).
 *
 * @public
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * Options of a list: `fields` names the only fields of each item the caller reads (by protobuf
 * field number): the items carry only those, in the JSON's shape, whether the apiserver answers
 * in protobuf or JSON (projectJson). Without `fields`, every field in JSON.
 *
 * @public
 */
export interface ListOptions extends CallOptions {
  fields?: ProtoMessage;
}

/**
 * One JSON Patch (RFC 6902) operation.
 *
 * @public
 */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/**
 * One change a watch reports: ADDED, MODIFIED or DELETED with the object; BOOKMARK with only the
 * resourceVersion reached; ERROR with the apiserver's Status (code 410: the version is too old to
 * watch from, list again).
 *
 * @public
 */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubernetesObject & { code?: number; message?: string };
}

/** The kind of a list or watch: in one namespace or (without) cluster-wide. */
type ListedKind = { apiVersion: string; kind: string; namespace?: string };

/**
 * What the pack needs from a cluster, and nothing more: apply, provision, status and the
 * KubeadmControlPlane path go through it, so a unit test can stand in for the cluster and the
 * client-node implementation is the one place that speaks the Kubernetes API. Every call takes
 * an AbortSignal; `boundedClient` adds the time bound. Errors carry the HTTP status as `code`
 * (404, 409, ...) and the apiserver's Status as `body`; `describeKubeError` turns them into
 * messages.
 *
 * @public
 */
export interface ClusterClient {
  /** The kube-apiserver's URL, for messages. */
  readonly server: string;
  /**
   * The object as it is now, or undefined when there is none. `shared`: the caller only reads the
   * answer, so it may be one also handed to others (frozen); never so for Secrets.
   */
  read(
    ref: ObjectRef,
    options?: CallOptions & { shared?: boolean },
  ): Promise<KubernetesObject | undefined>;
  /** The objects of one kind whose labels match, in one namespace or (without) cluster-wide. */
  list(
    kind: ListedKind,
    labelSelector: string,
    options?: ListOptions,
  ): Promise<KubernetesObject[]>;
  /**
   * As `list`, with the list's resourceVersion to watch from. Optional, as `watch` is: the status
   * reader keeps a watch-fed copy of a cluster only through a client that has both.
   */
  listVersioned?(
    kind: ListedKind,
    labelSelector: string,
    options?: ListOptions,
  ): Promise<{ items: KubernetesObject[]; resourceVersion: string }>;
  /**
   * The changes to what `list` gives, after `resourceVersion`, each passed to `onEvent` as it
   * arrives. Resolves when the apiserver ends the watch (after `timeoutSeconds`); rejects on an
   * HTTP error (410 when the version is too old) or when `options.signal` aborts, which is its
   * only bound.
   */
  watch?(
    kind: ListedKind,
    labelSelector: string,
    from: { resourceVersion: string; timeoutSeconds: number },
    onEvent: (event: WatchEvent) => void,
    options?: CallOptions,
  ): Promise<void>;
  /** Creates an object (409 when the name is taken). */
  create(
    object: KubernetesObject,
    options?: CallOptions,
  ): Promise<KubernetesObject>;
  /**
   * Server-side apply under the pack's field manager, taking over conflicting fields; a
   * metadata.resourceVersion in the object is a precondition (409 when it changed).
   */
  apply(
    object: KubernetesObject,
    options?: CallOptions & { dryRun?: boolean },
  ): Promise<KubernetesObject>;
  /** A JSON Patch under the pack's field manager (e.g. removing someone else's list entries). */
  patch(
    ref: ObjectRef,
    operations: JsonPatchOperation[],
    options?: CallOptions,
  ): Promise<KubernetesObject>;
  /** The versions an API group serves, and its preferred one; undefined when it is not served. */
  apiGroup(
    name: string,
    options?: CallOptions,
  ): Promise<{ versions: string[]; preferredVersion?: string } | undefined>;
  /** The Kubernetes version (gitVersion, e.g. v1.35.4). */
  version(options?: CallOptions): Promise<string>;
}

/** A cluster's version changes only on upgrade: remembered for a minute. */
const VERSION_TTL_MS = 60_000;
const clients = new WeakMap<KubeConfig, ClusterClient>();

/**
 * The ClusterClient of a KubeConfig (one per KubeConfig, sharing its connections): plain JSON
 * requests through client-node's credentials and transport.
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
    async read(ref, options = {}) {
      let path = builtInPath(ref);
      if (!path) {
        try {
          path = await objectPath(kc, ref, options.signal);
        } catch (e) {
          // A kind (or API version) not served, e.g. before its CRD: nothing of it exists.
          if ((e as { code?: number }).code === 404) return undefined;
          throw e;
        }
      }
      return kubeRequest<KubernetesObject | undefined>(kc, {
        method: 'GET',
        path,
        signal: options.signal,
        // Secrets are parsed anew every time: their values are never kept.
        shared: options.shared && ref.kind !== 'Secret',
        absentIfNotFound: true,
      });
    },
    async list(kind, labelSelector, options = {}) {
      return (await client.listVersioned!(kind, labelSelector, options)).items;
    },
    async listVersioned(kind, labelSelector, options = {}) {
      const path = await objectPath(kc, kind, options.signal);
      let list: {
        items: KubernetesObject[];
        metadata: { resourceVersion: string };
      };
      if (options.fields) {
        // Protobuf when the apiserver speaks it (every built-in kind; it costs the apiserver about
        // two thirds of JSON's CPU and its items are read for the named fields only), else JSON.
        const { contentType, bytes } = await kubeRequestBytes(kc, {
          method: 'GET',
          path,
          query: { labelSelector },
          accept: `${PROTOBUF_CONTENT_TYPE}, application/json`,
          signal: options.signal,
        });
        if (contentType.startsWith(PROTOBUF_CONTENT_TYPE)) {
          const decoded = decodeList(bytes, options.fields);
          list = {
            items: decoded.items,
            metadata: { resourceVersion: decoded.resourceVersion },
          };
        } else {
          // As protobuf gives them: only the named fields of each item.
          const parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
          list = {
            items: (parsed.items ?? []).map((item: Record<string, unknown>) =>
              projectJson(item, options.fields!),
            ),
            metadata: parsed.metadata,
          };
        }
      } else {
        list = await kubeRequest(kc, {
          method: 'GET',
          path,
          query: { labelSelector },
          signal: options.signal,
        });
      }
      return {
        // Items of a list carry no apiVersion/kind of their own.
        items: list.items.map(item => ({
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          ...item,
        })),
        resourceVersion: list.metadata.resourceVersion,
      };
    },
    async watch(kind, labelSelector, from, onEvent, options = {}) {
      await kubeStream(
        kc,
        {
          method: 'GET',
          path: await objectPath(kc, kind, options.signal),
          query: {
            watch: '1',
            labelSelector,
            resourceVersion: from.resourceVersion,
            timeoutSeconds: String(from.timeoutSeconds),
            // Progress without changes: a later reconnect starts from a recent version.
            allowWatchBookmarks: 'true',
          },
          signal: options.signal,
        },
        line => onEvent(line as WatchEvent),
      );
    },
    async create(object, options = {}) {
      const { name: _name, ...collection } = refOf(object);
      return kubeRequest(kc, {
        method: 'POST',
        path: await objectPath(kc, collection, options.signal),
        query: { fieldManager: FIELD_MANAGER },
        body: object,
        signal: options.signal,
      });
    },
    async apply(object, options = {}) {
      return kubeRequest(kc, {
        method: 'PATCH',
        path: await objectPath(kc, refOf(object), options.signal),
        query: {
          fieldManager: FIELD_MANAGER,
          force: 'true',
          dryRun: options.dryRun ? 'All' : undefined,
        },
        body: object,
        contentType: 'application/apply-patch+yaml',
        signal: options.signal,
      });
    },
    async patch(ref, operations, options = {}) {
      return kubeRequest(kc, {
        method: 'PATCH',
        path: await objectPath(kc, ref, options.signal),
        query: { fieldManager: FIELD_MANAGER },
        body: operations,
        contentType: 'application/json-patch+json',
        signal: options.signal,
      });
    },
    async apiGroup(name, options = {}) {
      const res = await kubeRequest<{
        groups: {
          name: string;
          versions: { version: string }[];
          preferredVersion?: { version: string };
        }[];
      }>(kc, { method: 'GET', path: '/apis', signal: options.signal });
      const group = res.groups.find(g => g.name === name);
      return (
        group && {
          versions: group.versions.map(v => v.version),
          preferredVersion: group.preferredVersion?.version,
        }
      );
    },
    async version(options = {}) {
      if (cachedVersion && Date.now() - cachedVersion.at < VERSION_TTL_MS)
        return cachedVersion.version;
      const v = await kubeRequest<{ gitVersion: string }>(kc, {
        method: 'GET',
        path: '/version',
        signal: options.signal,
      });
      cachedVersion = { version: v.gitVersion, at: Date.now() };
      return v.gitVersion;
    },
  };
  clients.set(kc, client);
  return client;
}

function refOf(object: KubernetesObject): ObjectRef {
  return {
    apiVersion: object.apiVersion ?? 'v1',
    kind: object.kind ?? '',
    name: object.metadata?.name ?? '',
    namespace: object.metadata?.namespace,
  };
}

/**
 * How long each call may take, and a signal that cancels every call (e.g. a scaffolder task's
 * ctx.signal).
 *
 * @public
 */
export interface CallBounds {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The one time bound of cluster calls: each call of the returned client is cancelled after
 * `timeoutMs` and when `bounds.signal` (or the call's own signal) aborts. A TimeoutError (the
 * bound) or AbortError (cancelled) rejects the call even if `client` ignores signals, so nothing
 * waits on an apiserver that accepts connections and never answers.
 *
 * @public
 */
export function boundedClient(
  client: ClusterClient,
  bounds: CallBounds,
): ClusterClient {
  /** One bound: a controller aborted by the timer or an outer signal, and a promise rejected so. */
  interface Bound {
    signal: AbortSignal;
    aborted: Promise<never>;
    /** Clears the timer and the outer signals' listeners. */
    release(): void;
  }
  const makeBound = (outer: AbortSignal[]): Bound => {
    // One controller with a timer cleared at the end, rather than AbortSignal.any over
    // AbortSignal.timeout: those cost several times more per call (weak references, and a
    // timer left running for timeoutMs), which a re-run's 28 calls at once felt.
    const controller = new AbortController();
    // The call's signal aborts and the call rejects with the same reason, whoever ends it.
    let rejectCall: (reason: unknown) => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      rejectCall = reject;
    });
    aborted.catch(() => {});
    const abort = (reason: unknown) => {
      controller.abort(reason);
      rejectCall(reason);
    };
    const timer = setTimeout(
      () =>
        abort(
          new DOMException(
            'The operation was aborted due to timeout',
            'TimeoutError',
          ),
        ),
      bounds.timeoutMs,
    );
    // As AbortSignal.timeout's: the bound never keeps the process alive by itself.
    timer.unref();
    const forward = outer.map(s => {
      const onAbort = () => abort(s.reason);
      s.addEventListener('abort', onAbort, { once: true });
      return () => s.removeEventListener('abort', onAbort);
    });
    return {
      signal: controller.signal,
      aborted,
      release() {
        clearTimeout(timer);
        forward.forEach(remove => remove());
      },
    };
  };
  // Calls started in the same turn (a re-run's 28 reads) without a signal of their own share one
  // bound: they start at the same moment, so each is still bounded by timeoutMs from its start.
  let shared: (Bound & { calls: number }) | undefined;
  const sharedBound = (outer: AbortSignal[]) => {
    if (shared) return shared;
    const bound = { ...makeBound(outer), calls: 0 };
    shared = bound;
    queueMicrotask(() => {
      if (shared === bound) shared = undefined;
    });
    return bound;
  };
  const bounded =
    <O extends CallOptions, A extends unknown[], R>(
      call: (options: O, ...args: A) => Promise<R>,
    ) =>
    (options: O | undefined, ...args: A): Promise<R> => {
      const outer = [bounds.signal, options?.signal].filter(
        (s): s is AbortSignal => s !== undefined,
      );
      const already = outer.find(s => s.aborted);
      if (already) return Promise.reject(already.reason);
      // A call with a signal of its own gets a bound of its own.
      const bound = options?.signal
        ? { ...makeBound(outer), calls: 0 }
        : sharedBound(outer);
      bound.calls += 1;
      return Promise.race([
        call({ ...options, signal: bound.signal } as O, ...args),
        bound.aborted,
      ]).finally(() => {
        if (--bound.calls > 0) return;
        if (shared === bound) shared = undefined;
        bound.release();
      });
    };
  const read = bounded(
    (o: CallOptions & { shared?: boolean }, ref: ObjectRef) =>
      client.read(ref, o),
  );
  const list = bounded(
    (
      o: ListOptions,
      kind: Parameters<ClusterClient['list']>[0],
      selector: string,
    ) => client.list(kind, selector, o),
  );
  const create = bounded((o: CallOptions, object: KubernetesObject) =>
    client.create(object, o),
  );
  const apply = bounded(
    (o: CallOptions & { dryRun?: boolean }, object: KubernetesObject) =>
      client.apply(object, o),
  );
  const patch = bounded(
    (o: CallOptions, ref: ObjectRef, ops: JsonPatchOperation[]) =>
      client.patch(ref, ops, o),
  );
  const apiGroup = bounded((o: CallOptions, name: string) =>
    client.apiGroup(name, o),
  );
  const version = bounded((o: CallOptions) => client.version(o));
  const listVersioned =
    client.listVersioned &&
    bounded(
      (
        o: ListOptions,
        kind: ListedKind,
        selector: string,
      ): Promise<{ items: KubernetesObject[]; resourceVersion: string }> =>
        client.listVersioned!(kind, selector, o),
    );
  return {
    server: client.server,
    read: (ref, o) => read(o, ref),
    list: (kind, selector, o) => list(o, kind, selector),
    create: (object, o) => create(o, object),
    apply: (object, o) => apply(o, object),
    patch: (ref, ops, o) => patch(o, ref, ops),
    apiGroup: (name, o) => apiGroup(o, name),
    version: o => version(o),
    ...(listVersioned && {
      listVersioned: (kind: ListedKind, selector: string, o?: ListOptions) =>
        listVersioned(o, kind, selector),
    }),
    // A watch lasts as long as it is meant to: bounded by its own timeoutSeconds (the caller's
    // signal), cancelled with bounds.signal.
    ...(client.watch && {
      watch: (kind, selector, from, onEvent, o) =>
        client.watch!(kind, selector, from, onEvent, {
          signal: AbortSignal.any(
            [bounds.signal, o?.signal].filter(
              (x): x is AbortSignal => x !== undefined,
            ),
          ),
        }),
    }),
  };
}

/** A ClusterClient as it is, or the one of a KubeConfig. */
export function asClusterClient(
  target: KubeConfig | ClusterClient,
): ClusterClient {
  return 'makeApiClient' in target ? clusterClient(target) : target;
}
