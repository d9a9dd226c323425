import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { DEFAULT_PLATFORM_GROUP, DexPermissionPolicy } from './policy';

/** Sets DexPermissionPolicy as the permission backend's policy. */
export const permissionModuleDexPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'dex-policy',
  register({ registerInit }) {
    registerInit({
      deps: { policy: policyExtensionPoint, config: coreServices.rootConfig },
      async init({ policy, config }) {
        const key = 'dex.permissionPolicy.platformGroup';
        const group = config.getOptionalString(key) ?? DEFAULT_PLATFORM_GROUP;
        // Matched with the user's full ownership refs: a short or mistyped one would match nobody.
        if (!/^group:[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/i.test(group))
          throw new Error(
            `${key}: "${group}" is not a full group reference; write it as group:<namespace>/<name>, e.g. ${DEFAULT_PLATFORM_GROUP}`,
          );
        policy.setPolicy(new DexPermissionPolicy(group));
      },
    });
  },
});
