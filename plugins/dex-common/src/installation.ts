import type { DexInstallation } from './types';

/**
 * Which installation of an entity: `cluster/namespace/instance`, as the `installation` parameter of
 * GET /api/dex/kubeconfig names it.
 *
 * @public
 */
export function installationKey(
  installation: Pick<DexInstallation, 'cluster' | 'namespace' | 'instance'>,
): string {
  return `${installation.cluster}/${installation.namespace}/${installation.instance}`;
}
