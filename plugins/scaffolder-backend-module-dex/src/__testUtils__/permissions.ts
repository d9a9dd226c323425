import {
  AuthService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { DEFAULT_PLATFORM_GROUP as PLATFORM_GROUP } from '@backstage-dex/plugin-permission-backend-module-dex-policy';

/**
 * The tests run the policy the example app adds (@backstage-dex/plugin-permission-backend-module-dex-policy,
 * which the READMEs describe): the entity's owners may install (the catalog's isEntityOwner, evaluated by the
 * catalog), the platform group may install anywhere and take over; everything else is allowed.
 */
export { default as examplePolicyModule } from '@backstage-dex/plugin-permission-backend-module-dex-policy';

/** A user in the example policy's platform group. */
export const PLATFORM_USER = 'user:default/platform-admin';

/** User info with group membership (the mock's has none): PLATFORM_USER is in PLATFORM_GROUP. */
export const userInfoWithGroups = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials) {
      const userEntityRef = (credentials.principal as { userEntityRef: string })
        .userEntityRef;
      return {
        userEntityRef,
        ownershipEntityRefs: [
          userEntityRef,
          ...(userEntityRef === PLATFORM_USER ? [PLATFORM_GROUP] : []),
        ],
      };
    },
  }),
});

/**
 * The test backend's mock auth, except that a plugin's request on behalf of a user carries the
 * plugin as actor, as real Backstage tokens do. The mock drops the actor, and the permission
 * backend refuses conditional requests (the catalog's own reads) from a user without one.
 */
export const authWithActors = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const inner = mockServices.auth({ pluginId: plugin.getId() });
    const auth: AuthService = Object.create(inner);
    auth.getPluginRequestToken = async options => {
      const principal = options.onBehalfOf.principal as {
        type: string;
        userEntityRef?: string;
      };
      if (principal.type !== 'user' || !principal.userEntityRef)
        return inner.getPluginRequestToken(options);
      return {
        token: mockCredentials.user.token(principal.userEntityRef, {
          actor: { subject: `plugin:${plugin.getId()}` },
        }),
      };
    };
    return auth;
  },
});
