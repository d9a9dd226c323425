import {
  HangingServer,
  startHangingServer,
} from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { ClusterClient, boundedClient, clusterClient } from '../cluster/client';
import { provisionPack } from '../provision';
import { adminKubeConfig, packSpec } from './helpers';

const ref = {
  apiVersion: 'v1',
  kind: 'Secret',
  name: 'dex-ca',
  namespace: 'dex',
};

/** The call's outcome as it stands: pending, or the name of the error it rejected with. */
function outcome(call: Promise<unknown>) {
  const state = { settled: undefined as string | undefined };
  call.catch(e => {
    state.settled = (e as Error).name;
  });
  return state;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

// A cluster that accepts connections and never answers: every call of a provision must end anyway.
describe('bounded time', () => {
  let hang: HangingServer;
  let kc: KubeConfig;

  beforeAll(async () => {
    hang = await startHangingServer();
    kc = await adminKubeConfig(hang);
  });
  afterAll(() => hang?.close());

  it('fails at the request bound with an error naming the cluster', async () => {
    const spec = { ...packSpec('bounded'), cluster: 'hang' };
    await expect(
      provisionPack(kc, spec, { requestTimeoutMs: 500 }),
    ).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: expect.stringMatching(
        new RegExp(
          `^Cluster "hang" \\(https://127\\.0\\.0\\.1:${hang.port}\\) did not answer within 500 ms: asking .* for its version: the cluster did not answer in time$`,
        ),
      ),
    });
    // Past the version check too: reading what exists is bounded as well.
    await expect(
      provisionPack(
        kc,
        { ...spec, kubernetesVersion: 'v1.35.4' },
        { requestTimeoutMs: 500 },
      ),
    ).rejects.toThrow(
      /did not answer within 500 ms: reading \S+: the cluster did not answer in time/,
    );
  });

  it('stops at once when the task is cancelled, whatever the bound', async () => {
    const controller = new AbortController();
    const run = provisionPack(
      kc,
      { ...packSpec('cancelled'), cluster: 'hang' },
      { requestTimeoutMs: 600_000, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 200);
    await expect(run).rejects.toThrow(/: cancelled$/);
  });

  describe('boundedClient on a cluster that never answers', () => {
    /** The real client of the hanging cluster, recording the signal each read is given. */
    const recordingClient = () => {
      const real = clusterClient(kc);
      const signals: AbortSignal[] = [];
      const client: ClusterClient = {
        ...real,
        read: (r, options = {}) => {
          signals.push(options.signal!);
          return real.read(r, options);
        },
      };
      return { client, signals };
    };

    it('bounds calls started together from their start, and a later call from its own', async () => {
      const { client, signals } = recordingClient();
      const bounded = boundedClient(client, { timeoutMs: 300 });
      const first = [outcome(bounded.read(ref)), outcome(bounded.read(ref))];
      await sleep(200);
      const later = outcome(bounded.read(ref));
      await sleep(150);
      expect(first.map(o => o.settled)).toEqual([
        'TimeoutError',
        'TimeoutError',
      ]);
      // The calls' own signals are aborted too (a client that listens stops its requests).
      expect(signals.slice(0, 2).map(s => s.aborted)).toEqual([true, true]);
      expect(later.settled).toBeUndefined();
      expect(signals[2].aborted).toBe(false);
      await sleep(250);
      expect(later.settled).toBe('TimeoutError');
    });

    it("cancels a call with its own signal alone, and every call with the bounds' signal", async () => {
      const { client } = recordingClient();
      const task = new AbortController();
      const bounded = boundedClient(client, {
        timeoutMs: 60_000,
        signal: task.signal,
      });
      const own = new AbortController();
      const mine = outcome(bounded.read(ref, { signal: own.signal }));
      const others = [outcome(bounded.read(ref)), outcome(bounded.read(ref))];
      own.abort();
      await sleep(10);
      expect(mine.settled).toBe('AbortError');
      expect(others.map(o => o.settled)).toEqual([undefined, undefined]);
      task.abort();
      await sleep(10);
      expect(others.map(o => o.settled)).toEqual(['AbortError', 'AbortError']);
      // Once cancelled, a new call is refused at once.
      await expect(bounded.read(ref)).rejects.toMatchObject({
        name: 'AbortError',
      });
    });
  });
});
