import { createPermission } from '@backstage/plugin-permission-common';

/**
 * The catalog's resource type (RESOURCE_TYPE_CATALOG_ENTITY of @backstage/plugin-catalog-common):
 * an installation belongs to a catalog entity, so policies can use the catalog's conditional
 * rules (isEntityOwner, hasAnnotation, ...) on it.
 */
const CATALOG_ENTITY = 'catalog-entity';

/**
 * Installing or updating the Dex pack of a catalog entity (the dex:pack:apply action). Checked
 * with the entity as the resource: a policy may allow it for the entity's owners only.
 *
 * @public
 */
export const dexPackApplyPermission = createPermission({
  name: 'dex.pack.apply',
  attributes: { action: 'create' },
  resourceType: CATALOG_ENTITY,
});

/**
 * Taking over objects that belong to another owner (another entity or instance, or made outside
 * Backstage): the action's `force` input. Checked with the entity as the resource, on top of
 * dex.pack.apply.
 *
 * @public
 */
export const dexPackTakeoverPermission = createPermission({
  name: 'dex.pack.takeover',
  attributes: { action: 'update' },
  resourceType: CATALOG_ENTITY,
});

/** @public */
export const dexPermissions = [
  dexPackApplyPermission,
  dexPackTakeoverPermission,
];
