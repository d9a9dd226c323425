import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
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
        scaffolder.addActions(
          createDexPackApplyAction({ config, permissions }),
          createDexPackRenderAction({ config }),
        );
      },
    });
  },
});
