import { LocalCluster } from '@backstage-dex/local-cluster';
import { StatusBenchResult } from './report';

/** Filled in once the status API exists; returns undefined until then. */
export async function benchStatusIfAvailable(_cluster: LocalCluster, _runs: number): Promise<StatusBenchResult | undefined> {
  return undefined;
}
