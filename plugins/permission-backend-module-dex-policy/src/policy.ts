/*
 * A permission policy for the Dex permissions, ready to add to a backend or to start your own from.
 *
 * - dex.pack.apply (install or update the Dex pack of a catalog entity): the entity's owners, by
 *   the catalog's isEntityOwner rule; the platform group for every entity.
 * - dex.pack.takeover (take over objects of another owner: the template's "Take over existing
 *   objects"): the platform group only.
 * - everything else: allowed (this policy is about Dex; a real policy decides the rest too).
 */
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
import {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
} from '@backstage-dex/plugin-dex-common';

/** The platform group when `dex.permissionPolicy.platformGroup` is not set. */
export const DEFAULT_PLATFORM_GROUP = 'group:default/platform-team';

export class DexPermissionPolicy implements PermissionPolicy {
  private readonly platformGroup: string;

  /** @param platformGroup - members may install Dex for any entity and take over objects */
  constructor(platformGroup = DEFAULT_PLATFORM_GROUP) {
    this.platformGroup = platformGroup.toLocaleLowerCase('en-US');
  }

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const claims = user?.info.ownershipEntityRefs ?? [];
    // Entity refs are case-insensitive in Backstage (the catalog matches them so).
    const platform = claims.some(
      claim => claim.toLocaleLowerCase('en-US') === this.platformGroup,
    );
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
