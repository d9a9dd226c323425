import { createApiRef } from '@backstage/core-plugin-api';
import type {
  DexClustersResponse,
  DexExposureResponse,
  DexStatusResponse,
  DexVersionsResponse,
} from '@backstage-dex/plugin-dex-common';

/**
 * Reads Dex state from the dex backend plugin (`/api/dex`).
 *
 * @public
 */
export interface DexApi {
  /** Dex installations of one catalog entity, per cluster; `entityRef` as `kind:namespace/name`. */
  getStatus(entityRef: string): Promise<DexStatusResponse>;
  /**
   * A kubeconfig (YAML) for one installation of the entity, logging in with kubelogin; holds no
   * secret. `installation` as `cluster/namespace/instance` (installationKey).
   */
  getKubeconfig(entityRef: string, installation: string): Promise<string>;
  /** Allowed and default versions of Dex and the authenticator. */
  getVersions(): Promise<DexVersionsResponse>;
  /** The Ingress classes and service types the platform allows. */
  getExposure(): Promise<DexExposureResponse>;
  /** Clusters a Dex pack can be applied to. */
  getClusters(): Promise<DexClustersResponse>;
}

/** @public */
export const dexApiRef = createApiRef<DexApi>({
  id: 'plugin.dex.service',
});
