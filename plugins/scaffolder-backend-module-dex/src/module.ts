import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { KeyPool, readClusters } from '@backstage-dex/plugin-dex-node';
import { createDexPackApplyAction, createDexPackRenderAction } from './actions';

/**
 * The scaffolder module with the `dex:pack:apply` and `dex:pack:render` actions.
 *
 * @public
 */
export const scaffolderModuleDex = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'dex',
  register({ registerInit }) {
    registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        permissions: coreServices.permissions,
      },
      async init({ scaffolder, config, permissions }) {
        // Refuses, at startup, cluster settings the actions could not use (naming them).
        readClusters(config);
        scaffolder.addActions(
          // RSA keys made in the background, so a run does not wait for key generation.
          createDexPackApplyAction({ config, permissions, keyPool: new KeyPool() }),
          createDexPackRenderAction({ config }),
        );
      },
    });
  },
});
