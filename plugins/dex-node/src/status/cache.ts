/** Counters of a StatusCache, for tests and benchmarks. */
export interface StatusCacheStats {
  /** Answered from a settled entry younger than the TTL. */
  hits: number;
  /** Joined a load already under way for the same key (in-flight coalescing). */
  coalesced: number;
  /** Started a load. */
  misses: number;
  /** Entries currently held (settled or in flight). */
  size: number;
}

interface Entry<T> {
  value: Promise<T>;
  /** Epoch ms after which the entry is stale; Infinity while the load is in flight. */
  expires: number;
}

/**
 * A short-lived cache of per-cluster snapshots, keyed by cluster and Kubernetes id. Concurrent
 * requests for the same key share one load; a settled result (or error) is reused for `ttlMs`, so
 * repeated status requests do not multiply Kubernetes calls, and a cluster that is down is not
 * asked again on every request.
 */
export class StatusCache<T = unknown> {
  readonly ttlMs: number;
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;
  private lastSweep = 0;
  private counters = { hits: 0, coalesced: 0, misses: 0 };

  constructor(options: { ttlMs: number; now?: () => number }) {
    this.ttlMs = Math.max(0, options.ttlMs);
    this.now = options.now ?? Date.now;
  }

  static key(cluster: string, kubernetesId: string): string {
    return `${cluster}\u0000${kubernetesId}`;
  }

  /** The cached value for `key`, or the result of `load()` (started once for concurrent callers). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    this.sweep(now);
    const entry = this.entries.get(key);
    if (entry && entry.expires > now) {
      if (entry.expires === Infinity) this.counters.coalesced++;
      else this.counters.hits++;
      return entry.value;
    }
    this.counters.misses++;
    const value = load();
    const fresh: Entry<T> = { value, expires: Infinity };
    this.entries.set(key, fresh);
    const settle = () => {
      if (this.entries.get(key) !== fresh) return;
      if (this.ttlMs > 0) fresh.expires = this.now() + this.ttlMs;
      else this.entries.delete(key);
    };
    value.then(settle, settle);
    return value;
  }

  stats(): StatusCacheStats {
    return { ...this.counters, size: this.entries.size };
  }

  clear(): void {
    this.entries.clear();
    this.counters = { hits: 0, coalesced: 0, misses: 0 };
  }

  /** Drops stale entries, at most once per TTL, so memory stays bounded by the keys in use. */
  private sweep(now: number) {
    if (now - this.lastSweep < Math.max(this.ttlMs, 1000)) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries)
      if (entry.expires <= now) this.entries.delete(key);
  }
}
