/**
 * The embedded local cluster: etcd, kube-apiserver and Dex built from their Go modules and run
 * on loopback, for `npm start`, integration tests, e2e and benchmarks.
 *
 * @packageDocumentation
 */
export { startLocalCluster } from './cluster';
export type { LocalCluster, LocalClusterOptions } from './cluster';
export { startDex } from './dex';
export type { LocalDex } from './dex';
export { ensureBinaries, dexBuilds } from './binaries';
export { freePort, startProcess, waitFor } from './process';
export type { ManagedProcess } from './process';
export { httpsRequest } from './https';
export type { HttpsResponse } from './https';
export { loopbackPki } from './certs';
