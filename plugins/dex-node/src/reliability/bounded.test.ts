import {
  HangingServer,
  startHangingServer,
} from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { provisionPack } from '../provision';
import { adminKubeConfig, packSpec } from './helpers';

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
});
