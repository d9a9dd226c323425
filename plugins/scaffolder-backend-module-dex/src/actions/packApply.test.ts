import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
} from '@backstage-dex/plugin-dex-common';
import { mockContext, runAction } from '../__testUtils__/mockContext';
import { createDexPackApplyAction } from './packApply';

// Validation and refusals happen before any cluster is contacted, so these clusters need not exist.
const config = new ConfigReader({
  kubernetes: {
    clusterLocatorMethods: [
      {
        type: 'config',
        clusters: [
          {
            name: 'prod',
            url: 'https://127.0.0.1:1',
            authProvider: 'serviceAccount',
            serviceAccountToken: 't',
          },
          {
            name: 'staging',
            url: 'https://127.0.0.1:1',
            authProvider: 'serviceAccount',
            serviceAccountToken: 't',
          },
        ],
      },
    ],
  },
  dex: {
    versions: { allowed: ['2.45.1', '2.44.0'], default: '2.44.0' },
    defaults: { namespace: 'identity' },
  },
});

const ENTITY = 'component:default/payments-api';

describe('dex:pack:apply', () => {
  it('reports every problem of the input at once, naming the fields', async () => {
    const action = createDexPackApplyAction({
      config,
      permissions: mockServices.permissions(),
    });
    const run = runAction(action, {
      input: {
        cluster: 'prod',
        entityRef: ENTITY,
        namespace: 'Not_A_Namespace',
        dex: {
          version: '2.35.1',
          exposure: {
            ingress: { enabled: true, hosts: ['https://dex.example.com/'] },
          },
        },
        authenticator: { version: '9.9.9' },
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'InputError' });
    const message = await run.catch(e => e.message);
    expect(message).toContain('4 problems');
    expect(message).toMatch(
      /- namespace: "Not_A_Namespace" is not a valid namespace/,
    );
    expect(message).toMatch(
      /- dex\.version: Dex version 2\.35\.1 is not allowed by the platform .*allowed: 2\.45\.1, 2\.44\.0/,
    );
    expect(message).toMatch(
      /- dex\.exposure\.ingress\.hosts\[0\]: "https:\/\/dex\.example\.com\/" is not a valid host name/,
    );
    expect(message).toMatch(
      /- authenticator\.version: .*"9\.9\.9" is not in the catalogue/,
    );
  });

  it('refuses unknown fields, naming the one meant, before reaching any cluster', async () => {
    const action = createDexPackApplyAction({
      config,
      permissions: mockServices.permissions(),
    });
    const run = runAction(action, {
      input: {
        cluster: 'qa',
        entityRef: ENTITY,
        authenticator: { enable: false },
        dex: { replica: 2 },
        connector: [],
      },
    });
    const message = await run.catch(e => e.message);
    expect(message).toContain('3 problems');
    expect(message).toContain(
      '- authenticator.enable: unknown field; did you mean "enabled"?',
    );
    expect(message).toContain(
      '- dex.replica: unknown field; did you mean "replicas"?',
    );
    expect(message).toContain(
      '- connector: unknown field; did you mean "connectors"?',
    );
  });

  it('names the configured clusters when the cluster is unknown', async () => {
    const action = createDexPackApplyAction({
      config,
      permissions: mockServices.permissions(),
    });
    await expect(
      runAction(action, { input: { cluster: 'qa', entityRef: ENTITY } }),
    ).rejects.toThrow(
      'Unknown cluster "qa"; configured clusters: prod, staging',
    );
  });

  it('fills defaults from the dex: config', async () => {
    const action = createDexPackApplyAction({
      config,
      permissions: mockServices.permissions(),
    });
    const run = await mockContext({
      input: { cluster: 'prod', entityRef: ENTITY },
      isDryRun: true,
    });
    // The spec is resolved with the platform defaults; then the (closed) cluster is the first thing to fail.
    await expect(action.handler(run.ctx)).rejects.toThrow(
      /cluster is unreachable/,
    );
    expect(run.logs[0]).toBe(
      'info: Dex pack "dex" for payments-api: cluster prod, namespace identity, Dex 2.44.0, authenticator 1.4.0',
    );
  });

  it('is refused without the dex.pack.apply permission on the entity, before anything else', async () => {
    const permissions = mockServices.permissions.mock({
      authorize: jest.fn(async () => [{ result: AuthorizeResult.DENY }]),
    });
    const action = createDexPackApplyAction({ config, permissions });
    await expect(
      runAction(action, {
        input: { cluster: 'qa', entityRef: 'payments-api' },
      }),
    ).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        `Not allowed to install Dex for ${ENTITY} (permission dex.pack.apply)`,
      ),
    });
    expect(permissions.authorize).toHaveBeenCalledWith(
      [{ permission: dexPackApplyPermission, resourceRef: ENTITY }],
      {
        credentials: expect.objectContaining({ principal: expect.anything() }),
      },
    );
  });
  it('refuses a bad dex.clusters entry when it is created (at startup), naming the key', () => {
    const bad = new ConfigReader({
      kubernetes: config.get('kubernetes'),
      dex: {
        clusters: {
          prod: {
            apiServer: {
              mode: 'clusterApi',
              managementCluster: 'capi-management',
            },
          },
        },
      },
    });
    expect(() =>
      createDexPackApplyAction({
        config: bad,
        permissions: mockServices.permissions(),
      }),
    ).toThrow(
      /dex\.clusters\.prod\.apiServer\.managementCluster: "capi-management" is not a configured cluster \(configured: prod, staging\)/,
    );
  });

  it('needs dex.pack.takeover on the entity as well when force is set', async () => {
    const permissions = mockServices.permissions.mock({
      authorize: jest.fn(async requests =>
        requests.map(r => ({
          result:
            r.permission.name === 'dex.pack.apply'
              ? AuthorizeResult.ALLOW
              : AuthorizeResult.DENY,
        })),
      ),
    });
    const action = createDexPackApplyAction({ config, permissions });
    await expect(
      runAction(action, {
        input: { cluster: 'qa', entityRef: ENTITY, force: true },
      }),
    ).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        '(permission dex.pack.takeover); nothing was applied',
      ),
    });
    expect(permissions.authorize).toHaveBeenCalledWith(
      [
        { permission: dexPackApplyPermission, resourceRef: ENTITY },
        { permission: dexPackTakeoverPermission, resourceRef: ENTITY },
      ],
      expect.anything(),
    );
  });

  it('refuses an LDAP connector without TLS unless dex.connectors.allowInsecureNoSSL, before reaching the cluster', async () => {
    const input = {
      cluster: 'prod',
      entityRef: ENTITY,
      connectors: [
        {
          type: 'ldap',
          host: 'ldap.example.com:389',
          insecureNoSSL: true,
          bindDN: 'cn=dex,dc=example,dc=com',
          bindPasswordRef: { name: 'dex-secret-inputs', key: 'bind' },
          userBaseDN: 'ou=people,dc=example,dc=com',
        },
      ],
    };
    const refused = runAction(
      createDexPackApplyAction({
        config,
        permissions: mockServices.permissions(),
      }),
      { input, isDryRun: true },
    );
    await expect(refused).rejects.toMatchObject({ name: 'InputError' });
    expect(await refused.catch(e => e.message)).toMatch(
      /- connectors\[0\]\.insecureNoSSL: the platform does not allow LDAP without TLS.*\(dex\.connectors\.allowInsecureNoSSL\)/,
    );

    const allowing = new ConfigReader({
      kubernetes: config.get('kubernetes'),
      dex: { connectors: { allowInsecureNoSSL: true } },
    });
    // Allowed, the run gets as far as the (closed) cluster.
    await expect(
      runAction(
        createDexPackApplyAction({
          config: allowing,
          permissions: mockServices.permissions(),
        }),
        { input, isDryRun: true },
      ),
    ).rejects.toThrow(/cluster is unreachable/);
  });

  it('needs the entity the installation belongs to', async () => {
    const action = createDexPackApplyAction({
      config,
      permissions: mockServices.permissions(),
    });
    await expect(
      runAction(action, { input: { cluster: 'prod' } }),
    ).rejects.toMatchObject({
      name: 'InputError',
      message: expect.stringContaining('entityRef is required'),
    });
  });
});
