import {
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from '@backstage-dex/plugin-dex-common';
import { ClusterClient } from '../cluster/client';
import { LISTED, snapshotFromLists } from './snapshot';
import { ClusterSnapshot, KubernetesCall, StatusResource } from './types';
import { KindWatch, KindWatchOptions } from './watch';

export type StatusWatchesOptions = Omit<
  KindWatchOptions,
  'timeoutMs' | 'onCall'
> & {
  /** Called for each list and watch request the watches make (counters in tests and benchmarks). */
  onKubernetesCall?: (call: KubernetesCall) => void;
};

/** How current a cluster's watch-fed copy is. */
export interface WatchFreshness {
  /** Every kind is listed and its watch connected: a snapshot reads the copy. */
  current: boolean;
  /** Epoch ms of the oldest kind's last list or event (bookmarks included). */
  lastHeardAt: number;
}

interface Watched {
  client: ClusterClient;
  kinds: KindWatch[];
  /** The first lists have been waited for once (the first request to the cluster). */
  started: boolean;
}

/** The pack's objects of every entity: the status reader's selector without the entity's id. */
const PACK_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

/**
 * One watch-fed copy per cluster of the objects the status reader lists (every entity's, one
 * watch per kind), so a status request reads memory instead of listing. A cluster's watches start
 * with the first request for it, which waits for their first lists; they stop with `stop()` (the
 * backend's shutdown). While a copy is not current (its watch failed and is reconnecting, or the
 * client cannot watch) `snapshot` gives undefined and the reader lists as it does without watches:
 * a stale copy is never served as the cluster's state.
 */
export class StatusWatches {
  private readonly clusters = new Map<string, Watched>();
  private stopped = false;

  constructor(private readonly options: StatusWatchesOptions = {}) {}

  /**
   * The entity's objects on the cluster from its current copy; undefined when there is none to
   * read (the reader lists instead). The first call for a cluster starts its watches and waits for
   * their first lists within `timeoutMs`; a time-out there is this call's error.
   */
  async snapshot(
    cluster: string,
    client: ClusterClient,
    kubernetesId: string,
    timeoutMs: number,
  ): Promise<ClusterSnapshot | undefined> {
    const watched = this.ensure(cluster, client, timeoutMs);
    if (!watched) return undefined;
    if (!watched.started) {
      // Each first list is bounded by timeoutMs itself, so this wait is too.
      await Promise.all(watched.kinds.map(k => k.settled()));
      watched.started = true;
      // A cluster that did not answer the first lists in time is not asked again by this
      // request; any other failure (e.g. credentials that may list but not watch) lists below.
      const timedOut = watched.kinds.find(
        k =>
          !k.current &&
          ['TimeoutError', 'AbortError'].includes(
            (k.lastError as Error | undefined)?.name ?? '',
          ),
      );
      if (timedOut) throw timedOut.lastError;
    }
    if (!watched.kinds.every(k => k.current)) return undefined;
    const of = (resource: StatusResource) =>
      watched!.kinds
        .find(k => k.kind.resource === resource)!
        .objects(kubernetesId);
    return snapshotFromLists({
      deployments: of('deployments'),
      services: of('services'),
      ingresses: of('ingresses'),
      configMaps: of('configmaps'),
    });
  }

  /**
   * Starts the cluster's watches unless they run, and resolves once each kind's first list has
   * answered or failed (each bounded by `timeoutMs`): the backend waits for every configured
   * cluster's at its start, as a controller waits for its informers' caches, so that requests find
   * the copies listed. Resolves at once when the client cannot watch or the watches were stopped.
   */
  async watch(
    cluster: string,
    client: ClusterClient,
    timeoutMs: number,
  ): Promise<void> {
    const watched = this.ensure(cluster, client, timeoutMs);
    if (watched) await Promise.all(watched.kinds.map(k => k.settled()));
  }

  /** The cluster's watches, started unless they run; undefined when they cannot run. */
  private ensure(
    cluster: string,
    client: ClusterClient,
    timeoutMs: number,
  ): Watched | undefined {
    if (this.stopped || !client.listVersioned || !client.watch)
      return undefined;
    let watched = this.clusters.get(cluster);
    if (watched && watched.client !== client) {
      for (const k of watched.kinds) k.stop();
      watched = undefined;
    }
    if (!watched) {
      watched = {
        client,
        kinds: this.start(cluster, client, timeoutMs),
        started: false,
      };
      this.clusters.set(cluster, watched);
    }
    return watched;
  }

  /** How current each cluster's copy is, by cluster name. */
  freshness(): Record<string, WatchFreshness> {
    return Object.fromEntries(
      [...this.clusters].map(([name, w]) => [
        name,
        {
          current: w.kinds.every(k => k.current),
          lastHeardAt: Math.min(...w.kinds.map(k => k.lastHeardAt)),
        },
      ]),
    );
  }

  /** Stops every watch (the backend's shutdown); later snapshots are undefined. */
  stop(): void {
    this.stopped = true;
    for (const w of this.clusters.values()) for (const k of w.kinds) k.stop();
    this.clusters.clear();
  }

  private start(cluster: string, client: ClusterClient, timeoutMs: number) {
    return (Object.keys(LISTED) as StatusResource[]).map(
      resource =>
        new KindWatch(
          client,
          {
            resource,
            ...LISTED[resource],
            // As the reader lists them: only the pack's shared ConfigMaps.
            labelSelector:
              resource === 'configmaps'
                ? `${PACK_SELECTOR},!${LABEL_COMPONENT}`
                : PACK_SELECTOR,
          },
          {
            ...this.options,
            timeoutMs,
            onCall: (r, verb) =>
              this.options.onKubernetesCall?.({ cluster, resource: r, verb }),
          },
        ),
    );
  }
}
