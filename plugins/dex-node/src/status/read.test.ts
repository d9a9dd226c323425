import {
  HangingServer,
  LocalCluster,
  startHangingServer,
  startLocalCluster,
} from '@backstage-dex/local-cluster';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { statusReaderKubeConfig } from '../__testUtils__/statusReader';
import { provisionPack } from '../provision';
import { StatusCache } from './cache';
import { countKubernetesCalls } from './counter';
import { readDexStatus } from './read';
import { ClusterSnapshot } from './types';
import { adminKubeConfig } from '../reliability/helpers';

jest.setTimeout(180_000);

const ENTITY = 'component:default/payments-api';

describe('readDexStatus on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let hang: HangingServer;
  let hangKc: KubeConfig;

  beforeAll(async () => {
    [cluster, hang] = await Promise.all([
      startLocalCluster(),
      startHangingServer(),
    ]);
    kc = await adminKubeConfig(cluster);
    hangKc = await adminKubeConfig(hang);
    const spec = (namespace: string, instance: string) =>
      withDefaults({
        cluster: 'local',
        namespace,
        instance,
        kubernetesId: 'payments-api',
        dex: {
          version: '2.44.0',
          exposure: {
            serviceType: 'ClusterIP',
            ingress: {
              enabled: true,
              className: 'nginx',
              hosts: [`${instance}.${namespace}.example.test`],
            },
          },
        },
        // A LoadBalancer still pending (no controller here); with its URL given, provision does
        // not wait for the address.
        authenticator: {
          url: `https://login.${instance}.${namespace}.example.test`,
          exposure: { serviceType: 'LoadBalancer' },
        },
      });
    await Promise.all([
      provisionPack(kc, spec('team-a', 'dex'), { entityRef: ENTITY }),
      provisionPack(kc, spec('team-b', 'dex'), { entityRef: ENTITY }),
      provisionPack(kc, spec('team-b', 'dex-2'), { entityRef: ENTITY }),
      provisionPack(
        kc,
        withDefaults({
          cluster: 'local',
          namespace: 'other',
          kubernetesId: 'someone-else',
        }),
        { entityRef: 'component:default/someone-else' },
      ),
      // Same name and kubernetes-id, another catalog namespace and another kind: not ENTITY's.
      provisionPack(kc, spec('team-c', 'dex'), {
        entityRef: 'component:other/payments-api',
      }),
      provisionPack(kc, spec('team-d', 'dex'), {
        entityRef: 'resource:default/payments-api',
      }),
    ]);
  });
  afterAll(async () => {
    hang?.close();
    await cluster?.stop();
  });

  it('reads every installation of the entity with one list per kind, whatever their number', async () => {
    const counter = countKubernetesCalls();
    const status = await readDexStatus({
      clusters: [{ name: 'local', kc }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
      onKubernetesCall: counter.onKubernetesCall,
    });
    expect(status.errors).toEqual([]);
    expect(
      status.installations.map(i => `${i.namespace}/${i.instance}`),
    ).toEqual(['team-a/dex', 'team-b/dex', 'team-b/dex-2']);
    expect(counter.total()).toBe(4);

    const a = status.installations[0];
    expect(a.issuerUrl).toBe('https://dex.team-a.example.test');
    expect(a.dex).toMatchObject({
      version: '2.44.0',
      updateAvailable: true,
      health: 'progressing',
      replicas: { desired: 1, ready: 0 },
    });
    expect(a.dex.ingress).toMatchObject({
      className: 'nginx',
      hosts: ['dex.team-a.example.test'],
      tls: true,
      state: 'pending',
    });
    expect(a.dex.endpoints).toEqual([
      { kind: 'ingress', url: 'https://dex.team-a.example.test', ready: false },
      { kind: 'clusterIP', url: 'https://dex.team-a.svc:5556', ready: true },
    ]);
    expect(a.authenticator).toMatchObject({
      version: '1.4.0',
      serviceType: 'LoadBalancer',
      updateAvailable: false,
    });
    expect(a.authenticator!.endpoints[0]).toEqual({
      kind: 'loadBalancer',
      url: '',
      ready: false,
    });
    expect(a.certificates.map(c => c.name)).toEqual([
      'dex-ca',
      'dex-authenticator-tls',
      'dex-tls',
    ]);
    expect(a.certificates.every(c => c.daysLeft > 300)).toBe(true);
    expect(a.apiServer?.flags).toContain(
      '--oidc-issuer-url=https://dex.team-a.example.test',
    );
    expect(JSON.stringify(status)).not.toContain('PRIVATE KEY');
  });

  it('shows only what was stamped for the full entity ref: same-named entities of other kinds or namespaces see their own', async () => {
    const of = async (entityRef: string) =>
      (
        await readDexStatus({
          clusters: [{ name: 'local', kc }],
          kubernetesId: 'payments-api',
          entityRef,
        })
      ).installations.map(i => `${i.namespace}/${i.instance}`);
    expect(await of(ENTITY)).toEqual([
      'team-a/dex',
      'team-b/dex',
      'team-b/dex-2',
    ]);
    expect(await of('component:other/payments-api')).toEqual(['team-c/dex']);
    expect(await of('resource:default/payments-api')).toEqual(['team-d/dex']);
  });

  it('needs no access to Secrets: a reader allowed to list only Deployments, Services, Ingresses and ConfigMaps sees the certificates', async () => {
    const k8s = await clientNode();
    // The role platform teams are given (rbac/dex-status-reader.yaml, linked by the READMEs).
    const reader = await statusReaderKubeConfig(kc, cluster, 'status-reader');
    // The reader cannot read Secrets at all.
    await expect(
      reader.makeApiClient(k8s.CoreV1Api).listSecretForAllNamespaces(),
    ).rejects.toMatchObject({ code: 403 });

    const status = await readDexStatus({
      clusters: [{ name: 'local', kc: reader }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
    });
    expect(status.errors).toEqual([]);
    const a = status.installations.find(i => i.namespace === 'team-a')!;
    expect(a.certificates.map(c => c.name)).toEqual([
      'dex-ca',
      'dex-authenticator-tls',
      'dex-tls',
    ]);
    expect(a.certificates.every(c => c.daysLeft > 300 && c.subject)).toBe(true);
  });

  it('shares one load between concurrent requests and reuses it within the TTL', async () => {
    let clock = 0;
    const cache = new StatusCache<ClusterSnapshot>({
      ttlMs: 2000,
      now: () => clock,
    });
    const counter = countKubernetesCalls();
    const read = () =>
      readDexStatus({
        clusters: [{ name: 'local', kc }],
        kubernetesId: 'payments-api',
        entityRef: ENTITY,
        cache,
        onKubernetesCall: counter.onKubernetesCall,
      });
    const results = await Promise.all([read(), read(), read()]);
    expect(results.every(r => r.installations.length === 3)).toBe(true);
    expect(counter.total()).toBe(4);
    await read();
    expect(counter.total()).toBe(4);
    expect(cache.stats()).toMatchObject({
      misses: 1,
      coalesced: 2,
      hits: 1,
      size: 1,
    });
    clock += 2001;
    await read();
    expect(counter.total()).toBe(8);
  });

  it('answers for the clusters that answer, and an error for one that hangs, within the bound', async () => {
    const started = Date.now();
    const status = await readDexStatus({
      clusters: [
        { name: 'local', kc },
        { name: 'hang', kc: hangKc },
      ],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
      timeoutMs: 800,
    });
    const elapsed = Date.now() - started;
    expect(status.installations).toHaveLength(3);
    expect(status.errors).toEqual([
      {
        cluster: 'hang',
        message: 'Cluster "hang" did not answer within 800 ms',
      },
    ]);
    // Without the bound the hanging cluster holds the answer until jest's timeout; the slack
    // above 800 ms is for a loaded CI machine, not a speed target.
    expect(elapsed).toBeGreaterThanOrEqual(790);
    expect(elapsed).toBeLessThan(800 + 10_000);
  });

  it('says when a cluster refuses the credentials', async () => {
    const k8s = await clientNode();
    const bad = new k8s.KubeConfig();
    bad.loadFromOptions({
      clusters: [
        {
          name: 'local',
          server: cluster.server,
          caData: Buffer.from(cluster.caPem).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 'wrong' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'u' }],
      currentContext: 'local',
    });
    const status = await readDexStatus({
      clusters: [{ name: 'local', kc: bad }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
    });
    expect(status.installations).toEqual([]);
    expect(status.errors[0].message).toMatch(
      /rejected the credentials \(401\)/,
    );
  });

  it('refuses a Kubernetes id that would change the label selector', async () => {
    await expect(
      readDexStatus({ clusters: [], kubernetesId: 'a,b=c', entityRef: ENTITY }),
    ).rejects.toThrow(/not a valid Kubernetes label value/);
  });
});
