import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { dexPermissions } from '@backstage-dex/plugin-dex-common';
import { KeyPool, readClusters } from '@backstage-dex/plugin-dex-node';
import { createDexPackApplyAction, createDexPackRenderAction } from './actions';

/**
 * The scaffolder module with the `dex:pack:apply` and `dex:pack:render` actions; registers the
 * dex.pack.apply and dex.pack.takeover permissions with the scaffolder's permissions registry.
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
        permissionsRegistry: coreServices.permissionsRegistry,
      },
      async init({ scaffolder, config, permissions, permissionsRegistry }) {
        // Refuses, at startup, cluster settings the actions could not use (naming them).
        readClusters(config);
        // So policies and the permission UI know dex.pack.apply and dex.pack.takeover.
        permissionsRegistry.addPermissions(dexPermissions);
        scaffolder.addActions(
          // RSA keys made in the background, so a run does not wait for key generation.
          createDexPackApplyAction({
            config,
            permissions,
            keyPool: new KeyPool(),
          }),
          createDexPackRenderAction({ config }),
        );
      },
    });
  },
});
