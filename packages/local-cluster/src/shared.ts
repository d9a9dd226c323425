import fs from 'node:fs';
import { type LocalCluster, startLocalCluster } from './cluster';
import { hostProcess } from './process';

const SHARED = Symbol.for('@backstage-dex/local-cluster/shared');
type WithShared = { [SHARED]?: Record<string, Promise<LocalCluster>> };

function refuse(what: string) {
  return async () => {
    throw new Error(
      `sharedLocalCluster: ${what} would break the other test files of this worker that use it; ` +
        'a test that stops or restarts its apiserver needs its own startLocalCluster()',
    );
  };
}

/**
 * One plain local cluster (etcd + kube-apiserver, no extra flags) per process, i.e. per jest
 * worker: started by the first test file that asks, reused by the following ones, killed and its
 * folder removed when the process exits (its binaries also die with the process on Linux, see
 * startProcess). For tests that work in namespaces of their own and change nothing cluster-wide;
 * stop(), stopApiServer() and startApiServer() are refused. `{ node: true }`: a second shared
 * cluster with controllers, the node and LoadBalancers (startLocalCluster's `node`).
 */
export async function sharedLocalCluster(
  options: { node?: boolean } = {},
): Promise<LocalCluster> {
  const holder = hostProcess as WithShared;
  const key = options.node ? 'node' : 'plain';
  const shared = (holder[SHARED] ??= {});
  let started = shared[key];
  if (!started) {
    started = startLocalCluster({ background: true, node: options.node });
    shared[key] = started;
    started.then(
      cluster => {
        // Registered after startProcess's listener, so this runs once the binaries are killed.
        hostProcess.once('exit', () => {
          if (cluster.workDir)
            fs.rmSync(cluster.workDir, { recursive: true, force: true });
        });
      },
      () => {
        // Let the next test file try again (it then reports its own error).
        if (shared[key] === started) delete shared[key];
      },
    );
  }
  const cluster = await started;
  return {
    ...cluster,
    stop: refuse('stop()'),
    stopApiServer: refuse('stopApiServer()'),
    startApiServer: refuse('startApiServer()'),
  };
}
