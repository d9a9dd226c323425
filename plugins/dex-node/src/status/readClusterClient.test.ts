import { withDefaults } from '@backstage-dex/plugin-dex-common';
import type { V1Deployment } from '@kubernetes/client-node';
import { memoryCluster } from '../__testUtils__/memoryCluster';
import { provisionPack } from '../provision';
import { countKubernetesCalls } from './counter';
import { readDexStatus } from './read';

const ENTITY = 'component:default/payments-api';

/** A pack rendered and applied by provisionPack into an in-memory ClusterClient (no cluster). */
async function provisioned() {
  const memory = memoryCluster();
  await provisionPack(
    memory.client,
    withDefaults({
      cluster: 'memory',
      namespace: 'team-a',
      instance: 'dex',
      kubernetesId: 'payments-api',
      dex: {
        version: '2.44.0',
        exposure: {
          serviceType: 'ClusterIP',
          ingress: {
            enabled: true,
            className: 'nginx',
            hosts: ['dex.team-a.example.test'],
          },
        },
      },
      authenticator: { exposure: { serviceType: 'NodePort' } },
    }),
    { entityRef: ENTITY },
  );
  return memory;
}

describe('readDexStatus through a ClusterClient', () => {
  it('shows a rendered pack as the card does: endpoints, versions and readiness, with four lists', async () => {
    const memory = await provisioned();
    const counter = countKubernetesCalls();
    const status = await readDexStatus({
      clusters: [{ name: 'memory', kc: memory.client }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
      onKubernetesCall: counter.onKubernetesCall,
    });
    expect(status.errors).toEqual([]);
    expect(counter.total()).toBe(4);
    expect(status.installations).toHaveLength(1);
    const [dex] = status.installations;
    expect(dex).toMatchObject({
      cluster: 'memory',
      namespace: 'team-a',
      instance: 'dex',
      issuerUrl: 'https://dex.team-a.example.test',
    });
    // Nothing runs in memory: no replica is ready yet.
    expect(dex.dex).toMatchObject({
      version: '2.44.0',
      updateAvailable: true,
      health: 'progressing',
      replicas: { desired: 1, ready: 0 },
    });
    expect(dex.dex.endpoints).toEqual([
      { kind: 'ingress', url: 'https://dex.team-a.example.test', ready: false },
      { kind: 'clusterIP', url: 'https://dex.team-a.svc:5556', ready: true },
    ]);
    expect(dex.authenticator).toMatchObject({
      serviceType: 'NodePort',
      health: 'progressing',
    });
    expect(dex.certificates.map(c => c.name)).toEqual([
      'dex-ca',
      'dex-authenticator-tls',
      'dex-tls',
    ]);
    expect(JSON.stringify(status)).not.toContain('PRIVATE KEY');
  });

  it('shows Dex healthy once its Deployment reports its replicas ready', async () => {
    const memory = await provisioned();
    const key = 'Deployment/team-a/dex';
    const deployment = memory.objects.get(key) as V1Deployment;
    memory.objects.set(key, {
      ...deployment,
      status: {
        replicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        updatedReplicas: 1,
        observedGeneration: deployment.metadata?.generation,
      },
    } as V1Deployment);
    const status = await readDexStatus({
      clusters: [{ name: 'memory', kc: memory.client }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
    });
    expect(status.installations[0].dex).toMatchObject({
      health: 'healthy',
      replicas: { desired: 1, ready: 1 },
    });
  });

  it('yields an error for a cluster whose lists fail, next to the other clusters installations', async () => {
    const memory = await provisioned();
    const failing = memoryCluster().client;
    failing.list = async () => {
      throw Object.assign(new Error('forbidden'), { code: 403 });
    };
    const status = await readDexStatus({
      clusters: [
        { name: 'memory', kc: memory.client },
        { name: 'denied', kc: failing },
      ],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
    });
    expect(status.installations.map(i => i.cluster)).toEqual(['memory']);
    expect(status.errors).toHaveLength(1);
    expect(status.errors[0].cluster).toBe('denied');
  });

  it('sees only the entity it was stamped for', async () => {
    const memory = await provisioned();
    const status = await readDexStatus({
      clusters: [{ name: 'memory', kc: memory.client }],
      kubernetesId: 'payments-api',
      entityRef: 'component:other/payments-api',
    });
    expect(status).toEqual({ installations: [], errors: [] });
  });

  it('cancels the lists of a cluster that does not answer within timeoutMs and says so', async () => {
    const hanging = memoryCluster().client;
    const signals: AbortSignal[] = [];
    hanging.list = (_kind, _selector, options = {}) =>
      new Promise((_, reject) => {
        signals.push(options.signal!);
        options.signal!.addEventListener('abort', () =>
          reject(options.signal!.reason),
        );
      });
    const status = await readDexStatus({
      clusters: [{ name: 'hanging', kc: hanging }],
      kubernetesId: 'payments-api',
      entityRef: ENTITY,
      timeoutMs: 50,
    });
    expect(status.errors).toEqual([
      {
        cluster: 'hanging',
        message: 'Cluster "hanging" did not answer within 50 ms',
      },
    ]);
    expect(signals).toHaveLength(4);
    // Each list's signal aborts (a test timeout here means the lists were left running).
    await Promise.all(
      signals.map(
        s =>
          s.aborted ||
          new Promise(resolve => s.addEventListener('abort', resolve)),
      ),
    );
    expect(signals.every(s => s.aborted)).toBe(true);
  });
});
