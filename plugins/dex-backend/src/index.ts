/**
 * The dex backend plugin: per-entity status of the Dex installations (endpoints, versions,
 * Ingress status, readiness, certificate expiry, API-server settings), the platform's versions
 * and the configured clusters, at /api/dex.
 *
 * @packageDocumentation
 */
export { dexPlugin as default, createDexBackendPlugin } from './plugin';
export type { DexBackendPluginOptions } from './plugin';
export {
  createDexService,
  clustersOf,
  kubernetesIdOf,
} from './service/DexService';
export type { DexService, DexServiceOptions } from './service/DexService';
