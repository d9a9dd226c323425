import { KubernetesCall } from './types';

/** Counts the status reader's Kubernetes calls: pass `onKubernetesCall` to readDexStatus. */
export interface KubernetesCallCounter {
  onKubernetesCall: (call: KubernetesCall) => void;
  /** Calls since creation or the last reset. */
  total(): number;
  /** Calls per cluster name. */
  byCluster(): Record<string, number>;
  reset(): void;
}

export function countKubernetesCalls(): KubernetesCallCounter {
  let counts: Record<string, number> = {};
  return {
    onKubernetesCall: call => {
      counts[call.cluster] = (counts[call.cluster] ?? 0) + 1;
    },
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    byCluster: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
  };
}
