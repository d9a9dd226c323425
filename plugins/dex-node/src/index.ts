/**
 * The Dex pack in Node: certificates, the pure renderer, API-server settings, cluster access,
 * server-side apply and the status reader. Shared by the scaffolder module and the dex backend.
 *
 * @packageDocumentation
 */
export * from './pack/certificates';
export * from './pack/material';
export * from './pack/names';
export { render, toYaml } from './pack/render';
export type { KubeObject } from './pack/render';
export { dexConfig } from './pack/dexConfig';
export { authenticatorConfig } from './pack/authenticatorConfig';
export { apiServerSettings } from './pack/apiServer';
export * from './cluster/clusters';
export { applyObjects, readExisting, waitForRollout, isOurs } from './cluster/apply';
export type { ApplyResult, ObjectResult, ObjectAction } from './cluster/apply';
export { changedFields } from './cluster/diff';
export { clientNode } from './cluster/clientNode';
export { describeKubeError } from './cluster/errors';
export * from './provision';
export * from './policy';
export * from './status';
export { readApiServerModes, apiServerModeOf, REPORT_MODE } from './apiServer/config';
export type { ApiServerMode, KubeadmControlPlaneRef } from './apiServer/config';
export {
  applyToKubeadmControlPlane,
  kubeadmControlPlaneApiVersion,
  ANNOTATION_KCP_OIDC,
  DEFAULT_KCP_TIMEOUT_MS,
} from './apiServer/kubeadmControlPlane';
export type { KubeadmControlPlaneApplyOptions, KubeadmControlPlaneApplyResult } from './apiServer/kubeadmControlPlane';
export { kubeadmApiServerSettings, KUBEADM_PKI_DIR } from './apiServer/kubeadmSettings';
export type { KubeadmApiServerSettings, KubeadmFile } from './apiServer/kubeadmSettings';
