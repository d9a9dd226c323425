/**
 * Settings of the dex backend plugin. The shared `dex:` keys (versions, defaults) and the clusters
 * (`kubernetes.clusterLocatorMethods`) are declared by plugins/dex-node's config.d.ts, which reads them.
 */
export interface Config {
  dex?: {
    /** GET /api/dex/status. */
    status?: {
      /**
       * How long a cluster's answer is reused for the same entity, in seconds (default 3). Requests
       * within that time, and requests made while a read is under way, share one set of
       * Kubernetes calls. 0 turns reuse off (concurrent requests still share a read).
       */
      cacheTtlSeconds?: number;
      /**
       * Keep a watch-fed copy of each cluster's Dex objects, so a status request reads memory
       * (default true). The plugin is up once the clusters' first lists are in (within
       * clusterTimeoutMs); while a cluster's watch is down (or its credentials may list but not
       * watch), requests list as with false.
       */
      watch?: boolean;
      /**
       * Upper bound per cluster, in milliseconds (default 5000, at most 300000): a cluster that
       * has not answered by then is reported as an error next to the other clusters' results.
       */
      clusterTimeoutMs?: number;
    };
  };
}
