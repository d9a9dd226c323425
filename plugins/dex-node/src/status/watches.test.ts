import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import { PackSpec, withDefaults } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { statusReaderKubeConfig } from '../__testUtils__/statusReader';
import { provisionPack } from '../provision';
import { KubernetesCall } from './types';
import { DexStatus, readDexStatus } from './read';
import { StatusWatches } from './watches';
import { adminKubeConfig } from '../reliability/helpers';

jest.setTimeout(180_000);

const ENTITY = 'component:default/checkout';

const spec = (namespace: string): PackSpec =>
  withDefaults({
    cluster: 'local',
    namespace,
    kubernetesId: 'checkout',
    dex: { exposure: { serviceType: 'ClusterIP' } },
    authenticator: { enabled: false },
  });

/** Counts calls by verb: the reader's own lists, or the watches' lists and watches. */
function calls() {
  const seen: KubernetesCall[] = [];
  return {
    on: (call: KubernetesCall) => seen.push(call),
    lists: () => seen.filter(c => (c.verb ?? 'list') === 'list').length,
    total: () => seen.length,
  };
}

/** Asks until `done` holds; the jest timeout bounds it (no timed assertion). */
async function until<T>(ask: () => Promise<T>, done: (value: T) => boolean) {
  for (;;) {
    const value = await ask();
    if (done(value)) return value;
    await new Promise(r => setTimeout(r, 100));
  }
}

const names = (s: DexStatus) => s.installations.map(i => i.namespace);

describe('StatusWatches on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    kc = await adminKubeConfig(cluster);
    await provisionPack(kc, spec('shop-a'), { entityRef: ENTITY });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reads memory after the first request, and shows objects created, changed and deleted since', async () => {
    const watched = calls();
    const reader = calls();
    const watches = new StatusWatches({ onKubernetesCall: watched.on });
    const read = () =>
      readDexStatus({
        clusters: [{ name: 'local', kc }],
        kubernetesId: 'checkout',
        entityRef: ENTITY,
        watches,
        onKubernetesCall: reader.on,
      });
    try {
      expect(names(await read())).toEqual(['shop-a']);
      // The first request waited for the watches' four lists; none of its own.
      expect(watched.lists()).toBe(4);
      for (let i = 0; i < 5; i++)
        expect(names(await read())).toEqual(['shop-a']);
      expect(reader.total()).toBe(0);
      expect(watched.lists()).toBe(4);

      await provisionPack(kc, spec('shop-b'), { entityRef: ENTITY });
      await until(read, s => names(s).includes('shop-b'));

      const k8s = await clientNode();
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      await apps.patchNamespacedDeployment(
        {
          name: 'dex',
          namespace: 'shop-b',
          body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      );
      await until(
        read,
        s =>
          s.installations.find(i => i.namespace === 'shop-b')?.dex.replicas
            .desired === 2,
      );
      await apps.deleteNamespacedDeployment({
        name: 'dex',
        namespace: 'shop-b',
      });
      const after = await until(
        read,
        s =>
          s.installations.find(i => i.namespace === 'shop-b')?.dex.health ===
          'missing',
      );
      expect(
        after.installations.find(i => i.namespace === 'shop-a')?.dex.health,
      ).not.toBe('missing');
      // All of it from the watches: no list since the first.
      expect(reader.total()).toBe(0);
      expect(watched.lists()).toBe(4);
      expect(watches.freshness().local.current).toBe(true);
    } finally {
      watches.stop();
    }
  });

  it('never serves the copy while the apiserver is down, and reads memory again once the watches are back', async () => {
    const reader = calls();
    const watches = new StatusWatches({ backoffMs: 50, maxBackoffMs: 500 });
    const read = () =>
      readDexStatus({
        clusters: [{ name: 'local', kc }],
        kubernetesId: 'checkout',
        entityRef: ENTITY,
        watches,
        timeoutMs: 2000,
        onKubernetesCall: reader.on,
      });
    try {
      expect(names(await read())).toContain('shop-a');
      await cluster.stopApiServer();
      try {
        await until(
          async () => watches.freshness().local.current,
          current => !current,
        );
        const down = await read();
        // The reader listed (and failed): the last copy is not shown as the cluster's state.
        expect(down.installations).toEqual([]);
        expect(down.errors).toHaveLength(1);
        expect(down.errors[0].cluster).toBe('local');
        expect(reader.lists()).toBe(4);
      } finally {
        await cluster.startApiServer();
      }
      await until(
        async () => watches.freshness().local.current,
        current => current,
      );
      const listsBefore = reader.lists();
      expect(names(await read())).toContain('shop-a');
      expect(reader.lists()).toBe(listsBefore);
    } finally {
      watches.stop();
    }
  });

  it('lists on every request for credentials that may list but not watch', async () => {
    // The status reader's role without `watch`.
    const lister = await statusReaderKubeConfig(kc, cluster, 'lister', {
      verbs: ['list'],
    });
    const reader = calls();
    const watches = new StatusWatches({ backoffMs: 50, maxBackoffMs: 500 });
    const read = () =>
      readDexStatus({
        clusters: [{ name: 'local', kc: lister }],
        kubernetesId: 'checkout',
        entityRef: ENTITY,
        watches,
        onKubernetesCall: reader.on,
      });
    try {
      const first = await read();
      expect(first.errors).toEqual([]);
      expect(names(first)).toContain('shop-a');
      await until(
        async () => watches.freshness().local.current,
        current => !current,
      );
      const before = reader.lists();
      const status = await read();
      expect(status.errors).toEqual([]);
      expect(names(status)).toContain('shop-a');
      expect(reader.lists()).toBe(before + 4);
    } finally {
      watches.stop();
    }
  });

  it('stops with the backend: no call after stop(), and requests list again', async () => {
    const watched = calls();
    const reader = calls();
    const watches = new StatusWatches({ onKubernetesCall: watched.on });
    const read = () =>
      readDexStatus({
        clusters: [{ name: 'local', kc }],
        kubernetesId: 'checkout',
        entityRef: ENTITY,
        watches,
        onKubernetesCall: reader.on,
      });
    await read();
    watches.stop();
    const after = watched.total();
    expect(watches.freshness()).toEqual({});
    expect(names(await read())).toContain('shop-a');
    expect(reader.lists()).toBe(4);
    expect(watched.total()).toBe(after);
  });
});
