import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { ProvisionResult, provisionPack } from '../provision';
import {
  adminKubeConfig,
  clusterSnapshot,
  expectConsistentPack,
  keysMadeAhead,
  packSpec,
  unexpectedFirstApplyActions,
} from './helpers';

jest.setTimeout(150_000);

describe('concurrent provisions', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    kc = await adminKubeConfig(cluster);
  });

  it('20 provisions in parallel on distinct namespaces all succeed, each with its full pack', async () => {
    const namespaces = Array.from({ length: 20 }, (_, i) => `par-${i}`);
    // Three keys a pack (CA, Dex's and the authenticator's serving certificates).
    const keyPool = await keysMadeAhead(3 * namespaces.length);
    const results = await Promise.allSettled(
      namespaces.map(ns => provisionPack(kc, packSpec(ns), { keyPool })),
    );
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected'
        ? [`${namespaces[i]}: ${(r.reason as Error).message}`]
        : [],
    );
    expect(failures).toEqual([]);

    const present = await clusterSnapshot(kc);
    for (const r of results as PromiseFulfilledResult<ProvisionResult>[]) {
      const missing = r.value.objects
        .map(o => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
        .filter(k => !present.has(k));
      expect(missing).toEqual([]);
      expect(unexpectedFirstApplyActions(r.value.apply)).toEqual([]);
    }
    // Each namespace: one consistent pack, the CA its provision returned.
    const packs = await Promise.all(
      namespaces.map(ns => expectConsistentPack(kc, ns)),
    );
    packs.forEach((p, i) =>
      expect(p.caPem).toBe(
        (results[i] as PromiseFulfilledResult<ProvisionResult>).value.caPem,
      ),
    );
    expect(new Set(packs.map(p => p.clientSecret)).size).toBe(20);
  });

  it('2 provisions on the same namespace at once leave one consistent pack (several trials)', async () => {
    const trials = ['same-0', 'same-1', 'same-2', 'same-3'];
    // Each run of a pair may make the pack's three keys; a run that starts over takes none.
    const keyPool = await keysMadeAhead(3 * 2 * trials.length);
    const outcomes = await Promise.all(
      trials.map(ns =>
        Promise.allSettled([
          provisionPack(kc, packSpec(ns), { keyPool }),
          provisionPack(kc, packSpec(ns), { keyPool }),
        ]),
      ),
    );
    for (const [t, ns] of trials.entries()) {
      const runs = outcomes[t];
      const won = runs.filter(
        r => r.status === 'fulfilled',
      ) as PromiseFulfilledResult<ProvisionResult>[];
      // One wins; the other succeeds with the same pack or fails with a conflict that says so.
      expect(won.length).toBeGreaterThanOrEqual(1);
      const errors = runs.flatMap(r =>
        r.status === 'rejected' ? [(r.reason as Error).message] : [],
      );
      expect(
        errors.filter(m => !/another run at the same time/.test(m)),
      ).toEqual([]);
      const pack = await expectConsistentPack(kc, ns);
      // What every successful run handed back is what the cluster has.
      for (const r of won) expect(r.value.caPem).toBe(pack.caPem);
      // A later run reuses it all: nothing to write.
      const again = await provisionPack(kc, packSpec(ns));
      expect(again.apply.writes).toBe(0);
      expect(again.caPem).toBe(pack.caPem);
    }
  });
});
