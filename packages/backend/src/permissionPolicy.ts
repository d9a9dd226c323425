/*
 * The example app's permission policy: shows the intended use of the Dex permissions.
 *
 * - dex.pack.apply (install or update the Dex pack of a catalog entity): the entity's owners, by
 *   the catalog's isEntityOwner rule; the platform group for every entity.
 * - dex.pack.takeover (take over objects of another owner: the template's "Take over existing
 *   objects"): the platform group only.
 * - everything else: allowed (this example is about Dex; a real policy decides the rest too).
 *
 * Signed in as guest (app-config.yaml), you are a member of group:default/guests, which owns the
 * example entities (examples/entities.yaml): you may install Dex for them, not take over.
 */
import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  PolicyDecision,
  isPermission,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
} from '@backstage-dex/plugin-dex-common';

/** Members of this group may install Dex for any entity and take over objects. */
export const PLATFORM_GROUP = 'group:default/platform-team';

export class DexExamplePolicy implements PermissionPolicy {
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

export default createBackendModule({
  pluginId: 'permission',
  moduleId: 'dex-example-policy',
  register({ registerInit }) {
    registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new DexExamplePolicy());
      },
    });
  },
});
