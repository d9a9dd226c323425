/**
 * The embedded local cluster: etcd, kube-apiserver (with `node: true` also kube-controller-manager,
 * kube-scheduler and a node that runs pods with runPod) and Dex built from their Go modules and
 * run on loopback, for `npm start`, integration tests, e2e and benchmarks.
 *
 * @packageDocumentation
 */
export { startLocalCluster, existingCluster } from './cluster';
export type {
  LocalCluster,
  LocalClusterOptions,
  LocalClusterOidc,
} from './cluster';
export { sharedLocalCluster } from './shared';
export type { LocalNode } from './node/node';
export { startDex } from './dex';
export type { LocalDex, StartDexOptions } from './dex';
export {
  passwordGrant,
  selfSubjectReview,
  bcryptHash,
  jwtClaims,
} from './oidc';
export type { PasswordGrantOptions, SelfSubjectReviewResult } from './oidc';
export {
  ensureBinaries,
  ensureBuild,
  ensureBuilds,
  dexBuilds,
  sourceFolders,
} from './binaries';
export type { Build } from './binaries';
export { freePort, startProcess, waitFor } from './process';
export type { ManagedProcess } from './process';
export { httpsRequest } from './https';
export type { HttpsResponse } from './https';
export { formLogin } from './formLogin';
export type { FormLoginOptions, FormLoginResult } from './formLogin';
export { loopbackPki } from './certs';
export { startPostgres, postgresBinDir } from './postgres';
export type { LocalPostgres } from './postgres';
export { startSlapd, slapdBinaries } from './slapd';
export type { LdapUser, LocalSlapd } from './slapd';
export { startHangingServer } from './hanging';
export type { HangingServer } from './hanging';
export { kubeadmControlPlaneCrd, peersDir } from './clusterApi';
export { runPod } from './pod/run';
export type {
  RunPodOptions,
  RunningPod,
  KubeObject,
  PodSource,
  PodPlacement,
  EgressAddress,
} from './pod/run';
