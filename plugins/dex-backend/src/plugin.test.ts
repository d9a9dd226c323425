import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  HangingServer,
  LocalCluster,
  startHangingServer,
  startLocalCluster,
} from '@backstage-dex/local-cluster';
import {
  DexStatusResponse,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import {
  clientNode,
  countKubernetesCalls,
  provisionPack,
} from '@backstage-dex/plugin-dex-node';
import request from 'supertest';
import YAML from 'yaml';
import { createDexBackendPlugin } from './plugin';

jest.setTimeout(240_000);

type KubeConfig = InstanceType<
  Awaited<ReturnType<typeof clientNode>>['KubeConfig']
>;

const TIMEOUT_MS = 1500;
/**
 * A hanging cluster without the bound holds the answer until jest's timeout; the slack over
 * TIMEOUT_MS is for a loaded CI machine, not a speed target.
 */
const BOUND_MS = TIMEOUT_MS + 10_000;
const TTL_SECONDS = 0.2;
const DENIED_USER = 'user:default/denied';

const entity = (name: string, annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
});

describe('dex backend plugin against two local clusters', () => {
  let a: LocalCluster;
  let b: LocalCluster;
  let hang: HangingServer;
  let kcA: KubeConfig;
  let server: Awaited<ReturnType<typeof startTestBackend>>['server'];
  const counter = countKubernetesCalls();
  /** Every response body, searched for secrets at the end. */
  const bodies: string[] = [];
  /** Generated client secrets (from the `<instance>-clients` Secrets), in clear and base64. */
  const secretValues: string[] = [];

  async function get(path: string, authorization?: string) {
    const req = request(server).get(path);
    if (authorization) req.set('Authorization', authorization);
    const res = await req;
    bodies.push(res.text);
    return res;
  }

  const status = async (entityRef: string) => {
    const res = await get(
      `/api/dex/status?entityRef=${encodeURIComponent(entityRef)}`,
    );
    expect(res.status).toBe(200);
    return res.body as DexStatusResponse;
  };
  const waitForTtl = () =>
    new Promise(resolve => setTimeout(resolve, TTL_SECONDS * 1000 + 50));

  beforeAll(async () => {
    [a, b, hang] = await Promise.all([
      startLocalCluster(),
      startLocalCluster(),
      startHangingServer(),
    ]);
    const k8s = await clientNode();
    const kubeConfig = (c: LocalCluster) => {
      const kc = new k8s.KubeConfig();
      kc.loadFromString(c.kubeconfig);
      return kc;
    };
    kcA = kubeConfig(a);
    const kcB = kubeConfig(b);
    await Promise.all([
      provisionPack(
        kcA,
        withDefaults({
          cluster: 'a',
          namespace: 'team-a',
          kubernetesId: 'payments-api',
          dex: {
            version: '2.44.0',
            exposure: {
              serviceType: 'ClusterIP',
              ingress: {
                enabled: true,
                className: 'nginx',
                hosts: ['dex.a.example.test'],
              },
            },
          },
          authenticator: {
            exposure: {
              serviceType: 'LoadBalancer',
              ingress: {
                enabled: true,
                className: 'nginx',
                hosts: ['login.a.example.test'],
              },
            },
          },
        }),
        { entityRef: 'component:default/payments-api' },
      ),
      provisionPack(
        kcB,
        withDefaults({
          cluster: 'b',
          namespace: 'team-b',
          kubernetesId: 'payments-api',
          authenticator: { exposure: { serviceType: 'NodePort' } },
        }),
        { entityRef: 'component:default/payments-api' },
      ),
      // Same kubernetes-id, another entity: only payments-everywhere sees it (the stamped full ref).
      provisionPack(
        kcB,
        withDefaults({
          cluster: 'b',
          namespace: 'team-e',
          kubernetesId: 'payments-api',
          authenticator: { enabled: false },
        }),
        { entityRef: 'component:default/payments-everywhere' },
      ),
    ]);
    for (const [kc, namespace] of [
      [kcA, 'team-a'],
      [kcB, 'team-b'],
    ] as const) {
      const secret = await kc
        .makeApiClient(k8s.CoreV1Api)
        .readNamespacedSecret({ name: 'dex-clients', namespace });
      for (const v of Object.values(secret.data ?? {}))
        secretValues.push(v, Buffer.from(v, 'base64').toString('utf8'));
    }
    if (!secretValues.length)
      throw new Error(
        'setup: no generated client secret to search the responses for',
      );

    const cluster = (
      name: string,
      c: { server: string; token: string; caPem: string },
    ) => ({
      name,
      url: c.server,
      authProvider: 'serviceAccount',
      serviceAccountToken: c.token,
      caData: Buffer.from(c.caPem).toString('base64'),
    });
    const backend = await startTestBackend({
      features: [
        // Lists only: the watches' own requests are not lists.
        createDexBackendPlugin({
          onKubernetesCall: call => {
            if ((call.verb ?? 'list') === 'list')
              counter.onKubernetesCall(call);
          },
        }),
        mockServices.rootConfig.factory({
          data: {
            kubernetes: {
              clusterLocatorMethods: [
                {
                  type: 'config',
                  clusters: [
                    cluster('a', a),
                    cluster('b', b),
                    cluster('hang', {
                      server: `https://127.0.0.1:${hang.port}`,
                      token: 'hang-token',
                      caPem: a.caPem,
                    }),
                  ],
                },
              ],
            },
            dex: {
              versions: { default: '2.45.1' },
              status: {
                cacheTtlSeconds: TTL_SECONDS,
                clusterTimeoutMs: TIMEOUT_MS,
              },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            entity('payments-api', { 'dex.backstage.io/clusters': 'a, b' }),
            entity('payments-everywhere', {
              'backstage.io/kubernetes-id': 'payments-api',
            }),
            entity('secret-project', { 'dex.backstage.io/clusters': 'a' }),
          ],
        }),
        mockServices.permissions.mock({
          authorize: async (requests, { credentials }) => {
            const user = (credentials.principal as { userEntityRef?: string })
              .userEntityRef;
            return requests.map(() => ({
              result:
                user === DENIED_USER
                  ? AuthorizeResult.DENY
                  : AuthorizeResult.ALLOW,
            }));
          },
        }).factory,
      ],
    });
    server = backend.server;
  });

  afterAll(async () => {
    hang?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('reports endpoints, versions and a pending Ingress for an entity across its clusters', async () => {
    // The watches listed each kind once per cluster when the backend started (the hanging one
    // too, in vain), so the first request reads the copies and lists nothing.
    expect(counter.byCluster()).toEqual({ a: 4, b: 4, hang: 4 });
    counter.reset();
    const body = await status('component:default/payments-api');
    expect(body.entityRef).toBe('component:default/payments-api');
    expect(body.errors).toEqual([]);
    expect(
      body.installations.map(i => `${i.cluster}:${i.namespace}/${i.instance}`),
    ).toEqual(['a:team-a/dex', 'b:team-b/dex']);
    expect(counter.total()).toBe(0);

    const [onA, onB] = body.installations;
    expect(onA.issuerUrl).toBe('https://dex.a.example.test');
    expect(onA.dex).toMatchObject({
      version: '2.44.0',
      defaultVersion: '2.45.1',
      updateAvailable: true,
      health: 'progressing',
      replicas: { desired: 1, ready: 0, updated: 0 },
      ingress: {
        name: 'dex',
        className: 'nginx',
        hosts: ['dex.a.example.test'],
        tls: true,
        addresses: [],
        state: 'pending',
      },
    });
    expect(onA.dex.endpoints).toEqual([
      { kind: 'ingress', url: 'https://dex.a.example.test', ready: false },
      { kind: 'clusterIP', url: 'https://dex.team-a.svc:5556', ready: true },
    ]);
    expect(onA.authenticator!.endpoints).toEqual([
      { kind: 'ingress', url: 'https://login.a.example.test', ready: false },
      { kind: 'loadBalancer', url: '', ready: false },
      {
        kind: 'clusterIP',
        url: 'https://dex-authenticator.team-a.svc:5555',
        ready: true,
      },
    ]);
    expect(onA.certificates.map(c => c.name)).toEqual([
      'dex-ca',
      'dex-authenticator-tls',
      'dex-tls',
    ]);
    expect(onA.apiServer).toMatchObject({
      issuerUrl: 'https://dex.a.example.test',
      clientId: 'kubernetes',
    });
    expect(onA.apiServer!.flags).toContain('--oidc-client-id=kubernetes');

    expect(onB.dex).toMatchObject({
      version: '2.45.1',
      updateAvailable: false,
      serviceType: 'ClusterIP',
    });
    expect(onB.dex.ingress).toBeUndefined();
    expect(onB.issuerUrl).toBe('https://dex.team-b.svc:5556/dex');
    const nodePort = onB.authenticator!.endpoints.find(
      e => e.kind === 'nodePort',
    );
    expect(nodePort?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers later requests from the watched copies, with no list', async () => {
    await waitForTtl();
    counter.reset();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => status('component:default/payments-api')),
    );
    expect(results.every(r => r.installations.length === 2)).toBe(true);
    expect(counter.total()).toBe(0);
  });

  it('reports the address an Ingress controller writes through the status subresource', async () => {
    const k8s = await clientNode();
    const api = kcA.makeApiClient(k8s.NetworkingV1Api);
    const ing = await api.readNamespacedIngress({
      name: 'dex',
      namespace: 'team-a',
    });
    await api.replaceNamespacedIngressStatus({
      name: 'dex',
      namespace: 'team-a',
      body: {
        ...ing,
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
      },
    });
    await waitForTtl();
    const body = await status('component:default/payments-api');
    const onA = body.installations.find(i => i.cluster === 'a')!;
    expect(onA.dex.ingress).toMatchObject({
      addresses: ['203.0.113.10'],
      state: 'ready',
    });
    expect(onA.dex.endpoints[0]).toEqual({
      kind: 'ingress',
      url: 'https://dex.a.example.test',
      ready: true,
    });
    expect(onA.authenticator!.ingress!.state).toBe('pending');
  });

  it('serves versions and cluster names, never URLs or tokens', async () => {
    const versions = await get('/api/dex/versions');
    expect(versions.status).toBe(200);
    expect(versions.body.dex.default).toBe('2.45.1');
    expect(versions.body.dex.allowed).toContain('2.44.0');
    expect(versions.body.authenticator.default).toBe('1.4.0');

    const exposure = await get('/api/dex/exposure');
    expect(exposure.status).toBe(200);
    expect(exposure.body).toMatchObject({
      serviceTypes: ['ClusterIP', 'LoadBalancer', 'NodePort'],
      defaultServiceType: 'ClusterIP',
    });
    expect(exposure.body.ingressClasses).toEqual(
      exposure.body.defaultIngressClass
        ? [exposure.body.defaultIngressClass]
        : [],
    );

    const clusters = await get('/api/dex/clusters');
    expect(clusters.status).toBe(200);
    expect(clusters.body).toEqual({
      clusters: [{ name: 'a' }, { name: 'b' }, { name: 'hang' }],
      default: 'a',
    });
    for (const c of [a, b]) {
      expect(clusters.text).not.toContain(c.server);
      expect(clusters.text).not.toContain(c.token);
    }
  });

  it('requires an identity, except for /health', async () => {
    const none = mockCredentials.none.header();
    for (const path of [
      '/api/dex/status?entityRef=component:default/payments-api',
      '/api/dex/versions',
      '/api/dex/exposure',
      '/api/dex/clusters',
    ]) {
      expect((await get(path, none)).status).toBe(401);
    }
    const health = await get('/api/dex/health', none);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('answers 403 to a user denied catalog read, 404 for an unknown entity, 400 for a bad reference', async () => {
    const denied = await get(
      '/api/dex/status?entityRef=component:default/secret-project',
      mockCredentials.user.header(DENIED_USER),
    );
    expect(denied.status).toBe(403);
    expect(denied.body.error.name).toBe('NotAllowedError');
    expect(denied.text).not.toContain('installations');

    const allowed = await get(
      '/api/dex/status?entityRef=component:default/secret-project',
      mockCredentials.user.header('user:default/alice'),
    );
    expect(allowed.status).toBe(200);

    const missing = await get(
      '/api/dex/status?entityRef=component:default/nope',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.name).toBe('NotFoundError');

    expect((await get('/api/dex/status')).status).toBe(400);
    const bad = await get('/api/dex/status?entityRef=payments-api');
    expect(bad.status).toBe(400);
    expect(bad.body.error.name).toBe('InputError');
  });

  it('serves a kubeconfig with kubelogin, the public client and both CAs, checked like the status', async () => {
    const path = (entityRef: string, installation: string) =>
      `/api/dex/kubeconfig?entityRef=${encodeURIComponent(entityRef)}&installation=${encodeURIComponent(installation)}`;
    const res = await get(
      path('component:default/payments-api', 'a/team-a/dex'),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="kubeconfig-a-team-a-dex.yaml"',
    );
    const k8s = await clientNode();
    const settings = await kcA
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedConfigMap({
        name: 'dex-apiserver-settings',
        namespace: 'team-a',
      });
    const packCa = settings.data!['ca.crt'];
    const config = YAML.parse(res.text);
    expect(config.clusters).toEqual([
      {
        name: 'a',
        cluster: {
          server: a.server,
          'certificate-authority-data': Buffer.from(a.caPem).toString('base64'),
        },
      },
    ]);
    const exec = config.users[0].user.exec;
    expect(exec.command).toBe('kubectl');
    expect(exec.args).toEqual(
      expect.arrayContaining([
        'oidc-login',
        'get-token',
        '--oidc-issuer-url=https://dex.a.example.test',
        '--oidc-client-id=kubectl',
        '--oidc-extra-scope=audience:server:client_id:kubernetes',
        `--certificate-authority-data=${Buffer.from(packCa).toString('base64')}`,
      ]),
    );
    // The backend's own credentials for the cluster stay in the backend.
    expect(res.text).not.toContain(a.token);

    const denied = await get(
      path('component:default/secret-project', 'a/team-a/dex'),
      mockCredentials.user.header(DENIED_USER),
    );
    expect(denied.status).toBe(403);
    expect(denied.text).not.toContain('oidc-login');
    // Another entity's installation is not this entity's to download.
    const other = await get(
      path('component:default/payments-everywhere', 'a/team-a/dex'),
    );
    expect(other.status).toBe(404);
    expect(other.body.error.message).toBe(
      'component:default/payments-everywhere has no Dex installation a/team-a/dex; it has: b/team-e/dex',
    );
    const bad = await get(path('component:default/payments-api', 'a/team-a'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/cluster\/namespace\/instance/);
    expect(
      (
        await get(
          path('component:default/payments-api', 'a/team-a/dex'),
          mockCredentials.none.header(),
        )
      ).status,
    ).toBe(401);
  });

  it('returns the answering clusters next to the errors of a hanging and a stopped one, within the bound', async () => {
    await waitForTtl();
    let started = Date.now();
    const everywhere = await status('component:default/payments-everywhere');
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
    expect(
      everywhere.installations.map(
        i => `${i.cluster}:${i.namespace}/${i.instance}`,
      ),
    ).toEqual(['b:team-e/dex']);
    expect(everywhere.errors).toEqual([
      {
        cluster: 'hang',
        message: `Cluster "hang" did not answer within ${TIMEOUT_MS} ms`,
      },
    ]);

    await b.stopApiServer();
    await waitForTtl();
    started = Date.now();
    const body = await status('component:default/payments-api');
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
    expect(body.installations.map(i => i.cluster)).toEqual(['a']);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].cluster).toBe('b');
    expect(body.errors[0].message).toMatch(/cluster "b"/);
  });

  it('never returns a secret value or a private key', () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const text of bodies) {
      expect(text).not.toContain('PRIVATE KEY');
      for (const secret of secretValues) expect(text).not.toContain(secret);
    }
  });
});
