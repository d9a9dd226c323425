import { createPermission } from '@backstage/plugin-permission-common';

/** Applying a Dex pack to a cluster (the dex:pack:apply action). */
export const dexPackApplyPermission = createPermission({
  name: 'dex.pack.apply',
  attributes: { action: 'create' },
});

export const dexPermissions = [dexPackApplyPermission];
