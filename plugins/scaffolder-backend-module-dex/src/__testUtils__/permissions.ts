import {
  AuthService,
  coreServices,
  createBackendModule,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  PolicyDecision,
  isPermission,
} from '@backstage/plugin-permission-common';
import type {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
} from '@backstage-dex/plugin-dex-common';

/** The platform group of the test policy, and a user in it. */
export const PLATFORM_GROUP = 'group:default/platform';
export const PLATFORM_USER = 'user:default/platform-admin';

/**
 * The policy the plugins' READMEs describe (as the example app's): the entity's owners may
 * install (the catalog's isEntityOwner, evaluated by the catalog), the platform group may
 * install anywhere and take over; everything else is allowed.
 */
class OwnersInstallPlatformTakesOver implements PermissionPolicy {
  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const claims = user?.info.ownershipEntityRefs ?? [];
    const platform = claims.includes(PLATFORM_GROUP);
    if (isPermission(request.permission, dexPackApplyPermission)) {
      if (platform) return { result: AuthorizeResult.ALLOW };
      return createCatalogConditionalDecision(
        request.permission,
        catalogConditions.isEntityOwner({ claims }),
      );
    }
    if (isPermission(request.permission, dexPackTakeoverPermission)) {
      return {
        result: platform ? AuthorizeResult.ALLOW : AuthorizeResult.DENY,
      };
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

export const testPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'dex-test-policy',
  register({ registerInit }) {
    registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new OwnersInstallPlatformTakesOver());
      },
    });
  },
});

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
