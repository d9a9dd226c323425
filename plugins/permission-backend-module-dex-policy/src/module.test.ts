import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { dexPackTakeoverPermission } from '@backstage-dex/plugin-dex-common';
import permissionModuleDexPolicy from './index';

describe('permissionModuleDexPolicy', () => {
  const start = (platformGroup?: string) =>
    startTestBackend({
      features: [
        import('@backstage/plugin-permission-backend'),
        permissionModuleDexPolicy,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            ...(platformGroup
              ? { dex: { permissionPolicy: { platformGroup } } }
              : {}),
          },
        }),
      ],
    });

  it('sets the policy: a user outside the platform group may not take over', async () => {
    for (const group of [undefined, 'group:platform/dex-admins']) {
      const backend = await start(group);
      try {
        const { port } = backend.server.address() as { port: number };
        const response = await fetch(
          `http://localhost:${port}/api/permission/authorize`,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: mockCredentials.user.header(),
            },
            body: JSON.stringify({
              items: [
                {
                  id: '1',
                  permission: dexPackTakeoverPermission,
                  resourceRef: 'resource:default/local-cluster',
                },
              ],
            }),
          },
        );
        expect(response.status).toBe(200);
        expect((await response.json()).items).toEqual([
          { id: '1', result: 'DENY' },
        ]);
      } finally {
        await backend.stop();
      }
    }
  });

  it.each([
    'platform-team',
    'group:platform-team',
    'user:default/admin',
    'group:default/platform team',
  ])(
    'refuses %s as platform group, naming the key and the form to use',
    async group => {
      await expect(start(group)).rejects.toThrow(
        /dex\.permissionPolicy\.platformGroup: .* write it as group:<namespace>\/<name>/,
      );
    },
  );
});
