import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import type { KubernetesCall } from '@backstage-dex/plugin-dex-node';
import { createDexService } from './service/DexService';
import { createRouter } from './service/router';

/** Options of createDexBackendPlugin. */
export interface DexBackendPluginOptions {
  /** Called once per Kubernetes API call made for status requests (tests and benchmarks count them). */
  onKubernetesCall?: (call: KubernetesCall) => void;
}

/**
 * The dex backend plugin with options; `dexPlugin` (the package's default export) is this with none.
 *
 * @public
 */
export function createDexBackendPlugin(options: DexBackendPluginOptions = {}) {
  return createBackendPlugin({
    pluginId: 'dex',
    register(env) {
      env.registerInit({
        deps: {
          config: coreServices.rootConfig,
          logger: coreServices.logger,
          httpRouter: coreServices.httpRouter,
          httpAuth: coreServices.httpAuth,
          permissions: coreServices.permissions,
          lifecycle: coreServices.lifecycle,
          catalog: catalogServiceRef,
        },
        async init({
          config,
          logger,
          httpRouter,
          httpAuth,
          permissions,
          lifecycle,
          catalog,
        }) {
          const dex = await createDexService({
            config,
            logger,
            onKubernetesCall: options.onKubernetesCall,
          });
          // The clusters' status watches start and end with the plugin, which is up once their
          // first lists are in (bounded by the status timeout): until then Backstage holds the
          // plugin's requests and the backend is not ready, as a controller waits for its
          // informers' caches to sync before it serves.
          lifecycle.addStartupHook(() => dex.startWatches());
          lifecycle.addShutdownHook(() => dex.stop());
          httpRouter.use(
            await createRouter({ httpAuth, permissions, catalog, dex }),
          );
          httpRouter.addAuthPolicy({
            path: '/health',
            allow: 'unauthenticated',
          });
        },
      });
    },
  });
}

/**
 * The dex backend plugin: the REST API at /api/dex (status per entity, versions, clusters).
 *
 * @public
 */
export const dexPlugin = createDexBackendPlugin();
