import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Applying a Dex pack to a cluster (the dex:pack:apply action).
 *
 * @public
 */
export const dexPackApplyPermission = createPermission({
  name: 'dex.pack.apply',
  attributes: { action: 'create' },
});

/** @public */
export const dexPermissions = [dexPackApplyPermission];
