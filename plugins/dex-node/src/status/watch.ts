import type { KubernetesObject } from '@kubernetes/client-node';
import { LABEL_KUBERNETES_ID } from '@backstage-dex/plugin-dex-common';
import { ClusterClient, WatchEvent, boundedClient } from '../cluster/client';
import { type ProtoMessage, projectJson } from '../cluster/protobuf';
import { StatusResource } from './types';

/** How one kind is listed and watched on a cluster. */
export interface WatchedKind {
  resource: StatusResource;
  apiVersion: string;
  kind: string;
  /** Every entity's objects of the kind (the pack's label), not one entity's. */
  labelSelector: string;
  /** The fields read of each object (the list may then give only these). */
  fields?: ProtoMessage;
}

export interface KindWatchOptions {
  /** Bound of each list (the watches are bounded by their own length). */
  timeoutMs: number;
  /** How long one watch request lasts before the apiserver ends it and it is made again (default 60 s). */
  watchSeconds?: number;
  /** First back-off after a failure, doubled per failure up to `maxBackoffMs` (defaults 500 ms, 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called for each list and each watch request (counters in tests and benchmarks). */
  onCall?: (resource: StatusResource, verb: 'list' | 'watch') => void;
}

/** All of an object but its managedFields (most of its size, never read). */
function withoutManagedFields(object: KubernetesObject): KubernetesObject {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return { ...object, metadata };
}

const keyOf = (o: KubernetesObject) =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const idOf = (o: KubernetesObject) => o.metadata?.labels?.[LABEL_KUBERNETES_ID];

/**
 * One kind's labelled objects on one cluster, kept current in memory: list once, then watch from
 * the list's resourceVersion (the pattern of client-go's reflector and client-node's informer,
 * on the objects as the apiserver sends them, without model classes). A watch the apiserver ends
 * is made again from the last version seen; 410 Gone or any failure lists again, after a back-off
 * that grows per failure. `current` is true only between a successful list and the next failure,
 * so a reader can tell a copy it may serve from one it must not.
 */
export class KindWatch {
  /** The objects by Kubernetes id (the `backstage.io/kubernetes-id` label), then namespace/name. */
  private byId = new Map<string, Map<string, KubernetesObject>>();
  /** The Kubernetes id each object is filed under, by namespace/name. */
  private idByKey = new Map<string, string>();
  private resourceVersion: string | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private failures = 0;
  private firstAttempt: Promise<void>;
  private settleFirst: () => void = () => {};
  /** Whether the copy is complete and its watch connected. */
  current = false;
  /** The last failure, for the error a reader reports while the copy is not current. */
  lastError: unknown;
  /** Epoch ms of the last list or event (bookmarks included): how fresh the copy is known to be. */
  lastHeardAt = 0;

  constructor(
    private readonly client: ClusterClient,
    readonly kind: WatchedKind,
    private readonly options: KindWatchOptions,
  ) {
    this.firstAttempt = new Promise(resolve => {
      this.settleFirst = resolve;
    });
    void this.run();
  }

  /** Resolves once the first list succeeded or failed (whichever comes first). */
  settled(): Promise<void> {
    return this.firstAttempt;
  }

  /** The objects with this Kubernetes id (the live copy's entries: read them, never change them). */
  objects(kubernetesId: string): KubernetesObject[] {
    return [...(this.byId.get(kubernetesId)?.values() ?? [])];
  }

  stop() {
    this.stopped = true;
    this.current = false;
    this.abort.abort(new Error('the status watch was stopped'));
    this.settleFirst();
  }

  private async run() {
    const listing = boundedClient(this.client, {
      timeoutMs: this.options.timeoutMs,
      signal: this.abort.signal,
    });
    const { kind } = this;
    const seconds = this.options.watchSeconds ?? 60;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) {
          this.options.onCall?.(kind.resource, 'list');
          const list = await listing.listVersioned!(kind, kind.labelSelector, {
            fields: kind.fields,
          });
          this.replace(list.items);
          this.resourceVersion = list.resourceVersion;
          this.lastHeardAt = Date.now();
          this.failures = 0;
          this.lastError = undefined;
          this.current = true;
          this.settleFirst();
        }
        this.options.onCall?.(kind.resource, 'watch');
        // Bounded by its own length: a connection that died silently is given up after it.
        await this.client.watch!(
          kind,
          kind.labelSelector,
          { resourceVersion: this.resourceVersion, timeoutSeconds: seconds },
          event => this.apply(event),
          {
            signal: AbortSignal.any([
              this.abort.signal,
              AbortSignal.timeout((seconds + 15) * 1000),
            ]),
          },
        );
      } catch (e) {
        if (this.stopped) return;
        this.resourceVersion = undefined;
        this.current = false;
        this.lastError = e;
        this.settleFirst();
        // 410 Gone: only the version is too old; list again at once.
        if ((e as { code?: number }).code !== 410) {
          this.failures += 1;
          await this.sleep(this.backoff());
        }
      }
    }
  }

  private backoff(): number {
    const first = this.options.backoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const ms = Math.min(max, first * 2 ** (this.failures - 1));
    // Jitter, so the watches of many clusters do not reconnect in step.
    return ms * (0.8 + 0.4 * Math.random());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private replace(items: KubernetesObject[]) {
    this.byId = new Map();
    this.idByKey = new Map();
    // A list with `fields` gives only those (listVersioned).
    for (const item of items)
      this.put(this.kind.fields ? item : withoutManagedFields(item));
  }

  private put(object: KubernetesObject) {
    const id = idOf(object);
    if (!id) return;
    let objects = this.byId.get(id);
    if (!objects) {
      objects = new Map();
      this.byId.set(id, objects);
    }
    objects.set(keyOf(object), object);
    this.idByKey.set(keyOf(object), id);
  }

  private remove(object: KubernetesObject) {
    const key = keyOf(object);
    // Under the id it was filed with: a change of the label moves an object between ids.
    const id = this.idByKey.get(key);
    if (id === undefined) return;
    this.idByKey.delete(key);
    const objects = this.byId.get(id);
    if (objects?.delete(key) && objects.size === 0) this.byId.delete(id);
  }

  /**
   * What the copy keeps of an event's object: what a list gives of it (the kind's read fields when
   * it names them: no managedFields, pod templates or the rest of a status), so the copy's memory
   * does not grow as its objects change.
   */
  private kept(object: KubernetesObject): KubernetesObject {
    const { apiVersion, kind, fields } = this.kind;
    if (!fields) return withoutManagedFields({ apiVersion, ...object });
    return {
      apiVersion,
      kind,
      ...projectJson(object as Record<string, unknown>, fields),
    };
  }

  private apply(event: WatchEvent) {
    this.lastHeardAt = Date.now();
    if (event.type === 'ERROR') {
      throw Object.assign(
        new Error(event.object.message ?? 'the watch failed'),
        { code: event.object.code },
      );
    }
    const version = event.object.metadata?.resourceVersion;
    if (event.type !== 'BOOKMARK') {
      this.remove(event.object);
      if (event.type !== 'DELETED') this.put(this.kept(event.object));
    }
    if (version) this.resourceVersion = version;
  }
}
