import { boundedClient, type ClusterClient } from './client';

/** A client whose reads never answer and ignore their signal (the worst case for a bound). */
function silentClient() {
  const signals: AbortSignal[] = [];
  const client = {
    server: 'https://silent.example.test',
    read: (_ref: unknown, options: { signal?: AbortSignal } = {}) => {
      signals.push(options.signal!);
      return new Promise(() => {});
    },
  } as unknown as ClusterClient;
  return { client, signals };
}

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

describe('boundedClient', () => {
  it('bounds calls started together from their start, and a later call from its own', async () => {
    const { client, signals } = silentClient();
    const bounded = boundedClient(client, { timeoutMs: 300 });
    const first = [outcome(bounded.read(ref)), outcome(bounded.read(ref))];
    await sleep(200);
    const later = outcome(bounded.read(ref));
    await sleep(150);
    expect(first.map(o => o.settled)).toEqual(['TimeoutError', 'TimeoutError']);
    // The calls' own signals are aborted too (a client that listens stops its requests).
    expect(signals.slice(0, 2).map(s => s.aborted)).toEqual([true, true]);
    expect(later.settled).toBeUndefined();
    expect(signals[2].aborted).toBe(false);
    await sleep(250);
    expect(later.settled).toBe('TimeoutError');
  });

  it("cancels a call with its own signal alone, and every call with the bounds' signal", async () => {
    const { client } = silentClient();
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
