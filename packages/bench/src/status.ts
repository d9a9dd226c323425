import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigReader } from '@backstage/config';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { LocalCluster, ensureBinaries, startLocalCluster } from '@backstage-dex/local-cluster';
import { createDexService } from '@backstage-dex/plugin-dex-backend';
import { clientNode, provisionPack } from '@backstage-dex/plugin-dex-node';
import { StatusBenchResult } from './report';
import { benchSpec } from './provision';
import { median, percentile, timed } from './stats';

const run = promisify(execFile);

/** The benchmark measures the status path, not logging. */
const quietLogger: LoggerService = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => quietLogger,
};
const ENTITY_ID = 'bench-status';
const entity = { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: ENTITY_ID }, spec: {} };

export interface StatusRow {
  clusters: number;
  installations: number;
  callsPerRequest: number;
  coldP50: number;
  coldP95: number;
  warmP50: number;
  warmP95: number;
  kubectlMs: number;
  ratio: number;
}

async function provisionMany(cluster: LocalCluster, name: string, from: number, to: number) {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  for (let i = from; i < to; i += 1) {
    await provisionPack(kc, { ...benchSpec(`st-${i}`, name), kubernetesId: ENTITY_ID });
  }
}

function configFor(clusters: LocalCluster[], ttlSeconds: number) {
  return new ConfigReader({
    kubernetes: {
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: clusters.map((c, i) => ({
            name: `c${i}`,
            url: c.server,
            authProvider: 'serviceAccount',
            serviceAccountToken: c.token,
            caData: Buffer.from(c.caPem).toString('base64'),
          })),
        },
      ],
    },
    dex: { status: { cacheTtlSeconds: ttlSeconds } },
  });
}

/** kubectl reading the same five kinds with the same selector from every cluster: the peer. */
async function kubectlRead(clusters: LocalCluster[]) {
  const kubectl = ensureBinaries('kubernetes').kubectl;
  await Promise.all(
    clusters.map(c =>
      run(kubectl, ['--kubeconfig', c.kubeconfigPath, 'get', 'deployments,services,ingresses,secrets,configmaps', '-A', '-l', `backstage.io/kubernetes-id=${ENTITY_ID}`, '-o', 'json'], { maxBuffer: 256 << 20 }),
    ),
  );
}

/**
 * The status path (DexService.status: what GET /api/dex/status runs once the caller is
 * authenticated and allowed) for `sizes` installations on 1 and 3 clusters: latency cold (no
 * cache) and warm (cache), Kubernetes calls per request, against kubectl reading the same objects.
 * Then RSS growth over 1,000 warm requests.
 */
export async function benchStatus(primary: LocalCluster, sizes: number[], requests: number, memoryRequests: number) {
  const extra = [await startLocalCluster(), await startLocalCluster()];
  const all = [primary, ...extra];
  const rows: StatusRow[] = [];
  let provisioned = 0;
  try {
    for (const size of sizes) {
      await Promise.all(all.map((c, i) => provisionMany(c, `c${i}`, provisioned, size)));
      provisioned = size;
      for (const clusterCount of [1, 3]) {
        const clusters = all.slice(0, clusterCount);
        let calls = 0;
        const onKubernetesCall = () => {
          calls += 1;
        };
        const cold = await createDexService({ config: configFor(clusters, 0), logger: quietLogger, onKubernetesCall });
        const coldTimes: number[] = [];
        for (let r = 0; r < requests; r += 1) {
          const t = await timed(() => cold.status(entity as any));
          if (t.value.installations.length !== size * clusterCount) {
            throw new Error(`expected ${size * clusterCount} installations, got ${t.value.installations.length}: ${JSON.stringify(t.value.errors)}`);
          }
          coldTimes.push(t.ms);
        }
        const callsPerRequest = calls / requests;
        const warm = await createDexService({ config: configFor(clusters, 60), logger: quietLogger });
        await warm.status(entity as any);
        const warmTimes: number[] = [];
        for (let r = 0; r < requests; r += 1) warmTimes.push((await timed(() => warm.status(entity as any))).ms);
        const kubectlTimes: number[] = [];
        for (let r = 0; r < Math.min(requests, 5); r += 1) kubectlTimes.push((await timed(() => kubectlRead(clusters))).ms);
        const kubectlMs = median(kubectlTimes);
        rows.push({
          clusters: clusterCount,
          installations: size,
          callsPerRequest,
          coldP50: percentile(coldTimes, 50),
          coldP95: percentile(coldTimes, 95),
          warmP50: percentile(warmTimes, 50),
          warmP95: percentile(warmTimes, 95),
          kubectlMs,
          ratio: percentile(coldTimes, 50) / kubectlMs,
        });
      }
    }
    // Memory: RSS growth over many requests (3 clusters, the largest size, no cache so every
    // request lists from the clusters), after GC.
    const service = await createDexService({ config: configFor(all, 0), logger: quietLogger });
    const gc = (globalThis as { gc?: () => void }).gc;
    // Warm up first: JIT, connection pools and TLS sessions settle in the first few hundred.
    for (let r = 0; r < 300; r += 1) await service.status(entity as any);
    gc?.();
    const before = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let r = 0; r < memoryRequests; r += 1) await service.status(entity as any);
    gc?.();
    const after = process.memoryUsage().rss;
    const heapAfter = process.memoryUsage().heapUsed;
    return {
      rows,
      memory: {
        requests: memoryRequests,
        beforeMb: before / 2 ** 20,
        afterMb: after / 2 ** 20,
        heapBeforeMb: heapBefore / 2 ** 20,
        heapAfterMb: heapAfter / 2 ** 20,
        gc: Boolean(gc),
      },
    };
  } finally {
    await Promise.all(extra.map(c => c.stop()));
  }
}

export function statusMarkdown(result: Awaited<ReturnType<typeof benchStatus>>): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  const largest = result.rows.filter(r => r.clusters === 3).sort((a, b) => b.installations - a.installations)[0];
  const callsFlat = new Set(result.rows.map(r => `${r.clusters}:${r.callsPerRequest}`)).size === new Set(result.rows.map(r => r.clusters)).size;
  const growth = result.memory.afterMb - result.memory.beforeMb;
  return [
    '## Status',
    '',
    'DexService.status — what GET /api/dex/status runs once the caller is authenticated and allowed — for one entity',
    'whose installations are spread over 1 and 3 clusters. Cold: no cache (every request lists from the clusters);',
    'warm: the short status cache. Peer: `kubectl get deployments,services,ingresses,secrets,configmaps -A -l <selector> -o json`',
    'against the same clusters (in parallel), ratio = ours cold p50 / kubectl median.',
    '',
    '| installations per cluster | clusters | k8s calls per request | cold p50 ms | cold p95 ms | warm p50 ms | warm p95 ms | kubectl ms | ratio |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...result.rows.map(
      r => `| ${r.installations} | ${r.clusters} | ${f(r.callsPerRequest, 1)} | ${f(r.coldP50, 1)} | ${f(r.coldP95, 1)} | ${f(r.warmP50, 2)} | ${f(r.warmP95, 2)} | ${f(r.kubectlMs)} | ${f(r.ratio, 2)} |`,
    ),
    '',
    `- Calls per request independent of the number of installations (5 lists per cluster): ${callsFlat ? 'met' : '**not met**'}.`,
    largest
      ? `- p95 < 100 ms at ${largest.installations} × ${largest.clusters} with the cache warm: ${largest.warmP95 < 100 ? 'met' : '**not met**'} (${f(largest.warmP95, 2)} ms).`
      : '',
    '',
    '## Memory',
    '',
    `RSS before / after ${result.memory.requests} status requests (3 clusters, no cache, ${result.memory.gc ? 'after a forced GC' : 'no forced GC: run with --expose-gc'}):`,
    `RSS ${f(result.memory.beforeMb, 1)} MB → ${f(result.memory.afterMb, 1)} MB (growth ${f(growth, 1)} MB); JS heap ${f(result.memory.heapBeforeMb, 1)} MB → ${f(result.memory.heapAfterMb, 1)} MB.`,
    `Goal flat (RSS growth < 10 MB after a 300-request warm-up): ${growth < 10 ? 'met' : '**not met**'}.`,
  ].join('\n');
}

export async function benchStatusReport(cluster: LocalCluster, runs: number): Promise<StatusBenchResult> {
  const sizes = (process.env.BENCH_STATUS_SIZES ?? '1,10,50').split(',').map(Number);
  const result = await benchStatus(cluster, sizes, Math.max(runs * 3, 20), Number(process.env.BENCH_MEMORY_REQUESTS ?? 1000));
  return { markdown: statusMarkdown(result) };
}
