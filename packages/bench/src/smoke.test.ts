import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import {
  benchCertificates,
  benchProvision,
  summarizeProvision,
} from './provision';
import { goalLines, report } from './report';
import { benchStatus, statusMarkdown } from './status';

jest.setTimeout(240_000);

/** `npm run bench` with tiny sizes: the harness works and reports what it measured. */
describe('benchmark smoke run', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster();
  });
  afterAll(() => cluster?.stop());

  it('measures provision and re-run against kubectl and the floor, and certificates', async () => {
    const steps: string[] = [];
    const rows = await benchProvision(cluster, 1, {
      progress: step => steps.push(step),
    });
    expect(steps).toEqual(['provision run 1 of 1']);
    expect(rows).toHaveLength(1);
    expect(rows[0].kubectlMs).toBeGreaterThan(0);
    expect(rows[0].rerunWrites).toBe(0);
    // The floor wrote the whole pack: reading every object back succeeded.
    expect(rows[0].floorMs).toBeGreaterThan(0);
    expect(rows[0].floorWritesMs).toBeGreaterThan(0);
    expect(rows[0].floorReadMs).toBeGreaterThan(0);
    expect(rows[0].helmMs).toBeUndefined();
    const markdown = report({
      command: 'smoke',
      cores: 2,
      load: { start: [1, 1, 1], end: [1, 1, 1] },
      kubernetes: cluster.version,
      provision: rows,
      provisionSummary: summarizeProvision(rows),
      certificatesMedianMs: benchCertificates(1)[0].totalMs,
      certificates: benchCertificates(1),
    });
    expect(markdown).toContain('| **median** |');
    expect(markdown).toContain('Helm was not measured in this run.');
    expect(goalLines(markdown).map(l => l.split(':')[0])).toEqual(
      expect.arrayContaining([
        '- Provision ≤ 2 × the floor',
        "- Provision ≤ 2 × the floor of our writes (stricter, without Dex's shared CRDs)",
        '- Unchanged re-run ≤ 1.2 × reading the objects',
      ]),
    );
  });

  it('measures status latency and Kubernetes calls per request on 1 and 3 clusters, and memory', async () => {
    const result = await benchStatus(cluster, [1], 3, 2, 20);
    // Steady requests read the watched copies; with watching off each lists 4 kinds per cluster.
    expect(
      result.rows.map(r => [
        r.clusters,
        r.callsPerRequest,
        r.listedCallsPerRequest,
      ]),
    ).toEqual([
      [1, 0, 4],
      [3, 0, 12],
    ]);
    const markdown = statusMarkdown(result);
    expect(markdown).toContain(
      'Listing, when it happens, takes 4 lists per cluster whatever the number of installations: met',
    );
    expect(markdown).toMatch(
      /- Status p95 < 100 ms at 1 × 3 with no TTL cache \(steady requests, read from the watched copy\): (met|\*\*not met\*\*) \(\d+\.\d\d ms; 0\.0 lists per request\)/,
    );
    // The first cluster also holds what the provision test made (of another entity).
    const [primary, ...extra] = result.rows.find(
      r => r.clusters === 3,
    )!.packInstallations;
    expect(primary).toBeGreaterThanOrEqual(1);
    expect(extra).toEqual([1, 1]);
    expect(markdown).toMatch(
      /- A fresh backend's first request at 1 × 3 \(sent as soon as it is up; the watches list \d+, 1, 1 installations of every entity on the clusters\): median \d+\.\d ms, p95 \d+\.\d ms, max \d+\.\d ms; p95 < 100 ms: (met|\*\*not met\*\*)\. Its start, the first lists included: median \d+\.\d ms/,
    );
  });
});
