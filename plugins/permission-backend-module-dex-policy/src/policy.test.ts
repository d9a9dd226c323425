import type {
  BackstageCredentials,
  BackstageUserPrincipal,
} from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import type { PolicyQueryUser } from '@backstage/plugin-permission-node';
import {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
} from '@backstage-dex/plugin-dex-common';
import {
  DEFAULT_PLATFORM_GROUP as PLATFORM_GROUP,
  DexPermissionPolicy,
} from './policy';

const user = (...groups: string[]): PolicyQueryUser => ({
  credentials: {
    $$type: '@backstage/BackstageCredentials',
    principal: { type: 'user', userEntityRef: 'user:default/guest' },
  } as BackstageCredentials<BackstageUserPrincipal>,
  info: {
    userEntityRef: 'user:default/guest',
    ownershipEntityRefs: ['user:default/guest', ...groups],
  },
});

describe('DexPermissionPolicy', () => {
  const policy = new DexPermissionPolicy();

  it("lets owners install Dex for their entities: the catalog's isEntityOwner, with the user's claims", async () => {
    const decision = await policy.handle(
      { permission: dexPackApplyPermission },
      user('group:default/guests'),
    );
    expect(decision).toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: 'catalog-entity',
      conditions: {
        rule: 'IS_ENTITY_OWNER',
        resourceType: 'catalog-entity',
        params: { claims: ['user:default/guest', 'group:default/guests'] },
      },
    });
  });

  it('lets only the platform group take over; the platform group installs anywhere', async () => {
    expect(
      await policy.handle(
        { permission: dexPackTakeoverPermission },
        user('group:default/guests'),
      ),
    ).toEqual({ result: AuthorizeResult.DENY });
    expect(
      await policy.handle(
        { permission: dexPackTakeoverPermission },
        user(PLATFORM_GROUP),
      ),
    ).toEqual({ result: AuthorizeResult.ALLOW });
    expect(
      await policy.handle(
        { permission: dexPackApplyPermission },
        user(PLATFORM_GROUP),
      ),
    ).toEqual({ result: AuthorizeResult.ALLOW });
  });

  it('matches the platform group whatever the case of either ref, as Backstage compares entity refs', async () => {
    const configured = new DexPermissionPolicy('group:default/Platform-Team');
    for (const claim of [
      'group:default/platform-team',
      'Group:Default/PLATFORM-TEAM',
    ])
      expect(
        await configured.handle(
          { permission: dexPackTakeoverPermission },
          user(claim),
        ),
      ).toEqual({ result: AuthorizeResult.ALLOW });
    expect(
      await configured.handle(
        { permission: dexPackTakeoverPermission },
        user('group:default/platform-teams'),
      ),
    ).toEqual({ result: AuthorizeResult.DENY });
  });

  it('allows what is not about Dex', async () => {
    const other = createPermission({
      name: 'catalog.entity.read',
      attributes: { action: 'read' },
    });
    expect(await policy.handle({ permission: other }, user())).toEqual({
      result: AuthorizeResult.ALLOW,
    });
  });
});
