/**
 * The Dex pack in Node: certificates, the pure renderer, API-server settings, cluster access,
 * server-side apply and the status reader, and the `dex-pack` CLI. Shared by the scaffolder module
 * and the dex backend.
 *
 * @packageDocumentation
 */
export {
  KeyPool,
  generateCa,
  generateKeys,
  issueServingCertificate,
  certificateInfo,
} from './pack/certificates';
export type { CertificateInfo, KeyPair, KeySource } from './pack/certificates';
export { prepareMaterial } from './pack/material';
export type {
  PackMaterial,
  PrepareOptions,
  PreparedMaterial,
} from './pack/material';
export {
  authenticatorUrl,
  issuerUrl,
  urlsOnlyTheClusterKnows,
} from './pack/names';
export { render, toYaml } from './pack/render';
export type { KubeObject } from './pack/render';
export { apiServerSettings } from './pack/apiServer';
export {
  clusterApiServer,
  findCluster,
  kubeConfigFor,
  readClusters,
  withClusterApiServer,
} from './cluster/clusters';
export type { ClusterApiServer, ClusterDetails } from './cluster/clusters';
export type { ApplyResult, ObjectAction, ObjectResult } from './cluster/apply';
export { clientNode } from './cluster/clientNode';
export { describeKubeError } from './cluster/errors';
export { boundedClient, clusterClient } from './cluster/client';
export { DEFAULT_LOAD_BALANCER_TIMEOUT_MS } from './cluster/loadBalancer';
export type {
  CallBounds,
  CallOptions,
  ClusterClient,
  JsonPatchOperation,
  ListOptions,
  ObjectRef,
  WatchEvent,
} from './cluster/client';
export type { ProtoField, ProtoMessage } from './cluster/protobuf';
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  kubernetesVersion,
  provisionPack,
} from './provision';
export type {
  KubeadmControlPlaneTarget,
  ProvisionOptions,
  ProvisionResult,
} from './provision';
export { readPolicy } from './policy';
export { kubeloginKubeconfig } from './kubeconfig/kubeloginKubeconfig';
export type { KubeloginKubeconfigOptions } from './kubeconfig/kubeloginKubeconfig';
export {
  DEFAULT_STATUS_TIMEOUT_MS,
  StatusCache,
  StatusWatches,
  countKubernetesCalls,
  readDexStatus,
} from './status';
export type {
  ClusterSnapshot,
  DexStatus,
  KubernetesCall,
  KubernetesCallCounter,
  ReadDexStatusOptions,
  StatusCacheStats,
  StatusClusterTarget,
  StatusWatchesOptions,
  WatchFreshness,
} from './status';
export {
  readApiServerModes,
  apiServerModeOf,
  REPORT_MODE,
} from './apiServer/config';
export type { ApiServerMode, KubeadmControlPlaneRef } from './apiServer/config';
export {
  applyToKubeadmControlPlane,
  kubeadmControlPlaneApiVersion,
  ANNOTATION_KCP_OIDC,
  DEFAULT_KCP_TIMEOUT_MS,
} from './apiServer/kubeadmControlPlane';
export type {
  KubeadmControlPlaneApplyOptions,
  KubeadmControlPlaneApplyResult,
} from './apiServer/kubeadmControlPlane';
export {
  kubeadmApiServerSettings,
  KUBEADM_PKI_DIR,
} from './apiServer/kubeadmSettings';
export type {
  KubeadmApiServerSettings,
  KubeadmFile,
} from './apiServer/kubeadmSettings';
export { runCli } from './cli';
export type { Io } from './cli';
