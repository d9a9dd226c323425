import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../pack/render';
import { ClusterClient } from './client';
import { describeKubeError } from './errors';

/** How long a newly created CRD may take to serve its resources (usually well under a second). */
export const CRD_SERVED_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

/** The kind a CRD defines, at its storage version: what a client of the resources lists. */
function servedKind(crd: KubeObject) {
  const spec = crd.spec as {
    group: string;
    names: { kind: string };
    versions: { name: string; storage?: boolean }[];
  };
  const version = spec.versions.find(v => v.storage) ?? spec.versions[0];
  return {
    apiVersion: `${spec.group}/${version.name}`,
    kind: spec.names.kind,
  };
}

/**
 * Waits until the resources of newly created CRDs can be listed in `namespace`, as their first
 * client (Dex's storage) will list them. Between creating a CRD and serving its resources the
 * apiserver answers 404 (not established yet) or 429 ("storage is (re)initializing"); a pod
 * started in that gap exits. Bounded by `timeoutMs`; `signal` stops the wait.
 */
export async function waitForCustomResources(
  cluster: ClusterClient,
  crds: KubeObject[],
  namespace: string | undefined,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? CRD_SERVED_TIMEOUT_MS);
  await Promise.all(
    crds.map(async crd => {
      const kind = servedKind(crd);
      for (;;) {
        options.signal?.throwIfAborted();
        try {
          await cluster.list({ ...kind, namespace }, '', {
            signal: options.signal,
          });
          return;
        } catch (e) {
          const code = (e as { code?: number }).code;
          // Not allowed to list is not a matter of time: say so now.
          if (code === 401 || code === 403 || Date.now() > deadline)
            throw describeKubeError(
              e,
              `waiting for ${crd.metadata.name} to serve ${kind.kind} resources`,
            );
        }
        await sleep(POLL_MS, undefined, { signal: options.signal });
      }
    }),
  );
}
