/**
 * Scaffolder actions that install Dex and dex-k8s-authenticator on a Kubernetes cluster
 * (`dex:pack:apply`) or render them for GitOps (`dex:pack:render`).
 *
 * @packageDocumentation
 */
export { scaffolderModuleDex as default } from './module';
export { createDexPackApplyAction, createDexPackRenderAction } from './actions';
