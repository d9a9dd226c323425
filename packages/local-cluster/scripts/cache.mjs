// Where the local cluster's builds (and the peers' archives they came from) are kept: outside
// the clone, so every clone on the machine shares them.
import os from 'node:os';
import path from 'node:path';

export function cacheRoot() {
  if (process.env.LOCAL_CLUSTER_CACHE) return process.env.LOCAL_CLUSTER_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'backstage-dex', 'local-cluster');
}
