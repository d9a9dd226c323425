import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import { benchCertificates, benchProvision, summarizeProvision } from './provision';
import { report } from './report';

jest.setTimeout(240_000);

/** `npm run bench` with tiny sizes: the harness works and reports what it measured. */
describe('benchmark smoke run', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster();
  });
  afterAll(() => cluster?.stop());

  it('measures provision and re-run against kubectl, and certificates', async () => {
    const rows = await benchProvision(cluster, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0].kubectlMs).toBeGreaterThan(0);
    expect(rows[0].rerunWrites).toBe(0);
    const markdown = report({
      command: 'smoke',
      cores: 2,
      kubernetes: cluster.version,
      provision: rows,
      provisionSummary: summarizeProvision(rows),
      certificatesMedianMs: benchCertificates(1)[0].totalMs,
      certificates: benchCertificates(1),
    });
    expect(markdown).toContain('| **median** |');
  });
});
