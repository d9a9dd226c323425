export {
  readDexStatus,
  readClusterSnapshot,
  statusLabelSelector,
  DEFAULT_STATUS_TIMEOUT_MS,
} from './read';
export type {
  DexStatus,
  ReadDexStatusOptions,
  StatusClusterTarget,
} from './read';
export { installationsFromSnapshot } from './mapping';
export type { SnapshotCluster } from './mapping';
export { StatusCache } from './cache';
export { StatusWatches } from './watches';
export type { StatusWatchesOptions, WatchFreshness } from './watches';
export type { StatusCacheStats } from './cache';
export { countKubernetesCalls } from './counter';
export type { KubernetesCallCounter } from './counter';
export type {
  ClusterSnapshot,
  CertificateSummary,
  KubernetesCall,
  StatusResource,
  TlsSecretCertificates,
} from './types';
