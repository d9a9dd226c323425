import type { KubernetesObject } from '@kubernetes/client-node';
import { ClusterClient, WatchEvent } from '../cluster/client';
import { LISTED_FIELDS } from './listedFields';
import { KindWatch, WatchedKind } from './watch';

/**
 * A watch that reports 410 Gone (its version was compacted away): the real apiserver does so only
 * after etcd compaction, so a stand-in plays it here.
 */
const deployment = (name: string, version: string): KubernetesObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    namespace: 'ns',
    resourceVersion: version,
    labels: { 'backstage.io/kubernetes-id': 'shop' },
    managedFields: [{ manager: 'x' }],
  },
});

const DEPLOYMENTS: WatchedKind = {
  resource: 'deployments',
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  labelSelector: 'x=y',
};

/** A watch request the apiserver keeps open: it ends only when the watch is stopped. */
function openUntilStopped(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) =>
    signal?.addEventListener('abort', () => reject(signal.reason)),
  );
}

it('lists again after 410 Gone, and watches again from the last version seen after a watch ends', async () => {
  const lists: string[] = [];
  const watchedFrom: string[] = [];
  let watches = 0;
  const client = {
    server: 'https://fake',
    async listVersioned() {
      lists.push(`list ${lists.length + 1}`);
      return lists.length === 1
        ? { items: [deployment('a', '10')], resourceVersion: '10' }
        : { items: [deployment('b', '30')], resourceVersion: '30' };
    },
    async watch(
      _kind: unknown,
      _selector: string,
      from: { resourceVersion: string },
      onEvent: (e: WatchEvent) => void,
      options?: { signal?: AbortSignal },
    ) {
      watches += 1;
      watchedFrom.push(from.resourceVersion);
      if (watches === 1) {
        onEvent({
          type: 'BOOKMARK',
          object: { metadata: { resourceVersion: '20' } },
        });
        return; // the apiserver ended the watch
      }
      if (watches === 2) {
        onEvent({
          type: 'ERROR',
          object: { code: 410, message: 'too old resource version' },
        });
        return;
      }
      await openUntilStopped(options?.signal);
    },
  } as unknown as ClusterClient;
  const watch = new KindWatch(client, DEPLOYMENTS, { timeoutMs: 1000 });
  try {
    await watch.settled();
    while (watches < 3) await new Promise(r => setTimeout(r, 5));
    expect(watchedFrom).toEqual(['10', '20', '30']);
    expect(lists).toHaveLength(2);
    expect(watch.current).toBe(true);
    // The second list replaced the first: "a" is gone, "b" kept without managedFields.
    expect(watch.objects('shop').map(o => o.metadata?.name)).toEqual(['b']);
    expect(watch.objects('shop')[0].metadata?.managedFields).toBeUndefined();
  } finally {
    watch.stop();
  }
  expect(watch.current).toBe(false);
});

it("keeps of an event's object what a list gives: the kind's read fields", async () => {
  let onEvent: (e: WatchEvent) => void = () => {};
  const client = {
    server: 'https://fake',
    async listVersioned() {
      return { items: [], resourceVersion: '1' };
    },
    async watch(
      _kind: unknown,
      _selector: string,
      _from: unknown,
      handler: (e: WatchEvent) => void,
      options?: { signal?: AbortSignal },
    ) {
      onEvent = handler;
      await openUntilStopped(options?.signal);
    },
  } as unknown as ClusterClient;
  const watch = new KindWatch(
    client,
    { ...DEPLOYMENTS, fields: LISTED_FIELDS.deployments },
    { timeoutMs: 1000 },
  );
  try {
    await watch.settled();
    while (!watch.current) await new Promise(r => setTimeout(r, 5));
    const changed = {
      ...deployment('a', '11'),
      spec: {
        template: {
          spec: {
            containers: [{ name: 'dex', image: 'dex:v2', env: [], ports: [] }],
            volumes: [{ name: 'config' }],
          },
        },
      },
      status: { readyReplicas: 1, availableReplicas: 1 },
    };
    onEvent({ type: 'MODIFIED', object: changed });
    expect(watch.objects('shop')).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'a',
          namespace: 'ns',
          resourceVersion: '11',
          labels: { 'backstage.io/kubernetes-id': 'shop' },
        },
        spec: {
          template: {
            spec: { containers: [{ name: 'dex', image: 'dex:v2' }] },
          },
        },
        status: { readyReplicas: 1 },
      },
    ]);
  } finally {
    watch.stop();
  }
});
