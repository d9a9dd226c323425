/**
 * Settings of the dex backend plugin. The shared `dex:` keys (versions, defaults) are declared by
 * the scaffolder module's config.d.ts; clusters are the Kubernetes plugin's
 * `kubernetes.clusterLocatorMethods`.
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
       * Upper bound per cluster, in milliseconds (default 5000): a cluster that has not answered
       * by then is reported as an error next to the other clusters' results.
       */
      clusterTimeoutMs?: number;
    };
  };
}
