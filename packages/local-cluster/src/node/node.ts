/**
 * The local cluster's one node: registers a Node (Ready, with a Lease heartbeat), runs every Pod
 * the scheduler binds to it with a PodWorker, and gives LoadBalancer Services loopback addresses.
 * It is a TypeScript agent rather than a virtual-kubelet provider because what it runs is runPod
 * (TypeScript); README "The node" says what it emulates and what it does not.
 */
import os from 'node:os';
import { podHostAddresses } from './addresses';
import { Json, KubeApi, KubeApiError } from './kubeApi';
import { LoadBalancers, startLoadBalancers } from './loadBalancer';
import { now } from './podStatus';
import { PodWorker } from './podWorker';

export const NODE_NAME = 'local-node';

/** How often the node renews its Lease (the kubelet's default) and re-posts its status. */
const LEASE_RENEW_MS = 10_000;
const LEASE_SECONDS = 40;
const STATUS_EVERY_MS = 60_000;
const READY_TIMEOUT_MS = 60_000;

export interface LocalNode {
  name: string;
  /** The pid of the running container of a pod (namespace/name), e.g. to kill it in a test. */
  containerPid(namespace: string, name: string): number | undefined;
  /** The loopback address where a pod's ports (by its Pod IP) are reachable from the host. */
  hostAddress(podIP: string): string | undefined;
  /** What the agent could not do (failed API calls), newest last. */
  logs(): string[];
  stop(): Promise<void>;
}

const microTime = () => new Date().toISOString().replace('Z', '000Z');

function nodeStatus(kubeletVersion: string): Json {
  const at = now();
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: reason,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
  });
  const capacity = {
    cpu: String(os.cpus().length),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': '10Gi',
  };
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
      condition('Ready', 'True', 'KubeletReady'),
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: NODE_NAME },
    ],
    nodeInfo: {
      kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: os.arch() === 'x64' ? 'amd64' : os.arch(),
      containerRuntimeVersion: 'local-cluster://runPod',
      kernelVersion: os.release(),
      osImage: 'local-cluster node (processes in namespaces)',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
  };
}

/**
 * Registers the node and starts its agent. `nodeToken` authenticates as system:node:<name>
 * (group system:nodes; the Node authorizer lets it read only its pods' Secrets and ConfigMaps);
 * `adminToken` is the LoadBalancer controller's (it updates services/status cluster-wide).
 * Resolves once the node is Ready and schedulable (the node lifecycle controller took its
 * not-ready taint off).
 */
export async function startNode(options: {
  server: string;
  caPem: string;
  apiServerPort: number;
  nodeToken: string;
  adminToken: string;
  kubeletVersion: string;
}): Promise<LocalNode> {
  const api = new KubeApi({
    server: options.server,
    caPem: options.caPem,
    token: options.nodeToken,
  });
  const adminApi = new KubeApi({
    server: options.server,
    caPem: options.caPem,
    token: options.adminToken,
  });
  const abort = new AbortController();
  const problems: string[] = [];
  const log = (message: string) => {
    problems.push(`${new Date().toISOString()} ${message}`);
    if (problems.length > 200) problems.shift();
  };
  const workers = new Map<string, PodWorker>();
  const timers: NodeJS.Timeout[] = [];
  let balancers: LoadBalancers | undefined;

  const postStatus = () =>
    api.request(
      'PATCH',
      `/api/v1/nodes/${NODE_NAME}/status`,
      { status: nodeStatus(options.kubeletVersion) },
      'application/merge-patch+json',
    );
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`;
  const renewLease = async () => {
    const spec = {
      holderIdentity: NODE_NAME,
      leaseDurationSeconds: LEASE_SECONDS,
      renewTime: microTime(),
    };
    try {
      await api.request(
        'PATCH',
        leasePath,
        { spec },
        'application/merge-patch+json',
      );
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      await api.request(
        'POST',
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: NODE_NAME, namespace: 'kube-node-lease' },
          spec,
        },
      );
    }
  };
  const every = (ms: number, fn: () => Promise<unknown>) => {
    const t = setInterval(
      () => fn().catch(e => log(`heartbeat: ${(e as Error).message}`)),
      ms,
    );
    t.unref();
    timers.push(t);
  };

  const stop = async () => {
    abort.abort();
    for (const t of timers) clearInterval(t);
    await Promise.all([...workers.values()].map(w => w.stop()));
    workers.clear();
    await balancers?.stop();
    api.close();
    adminApi.close();
  };

  try {
    try {
      await api.request('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: NODE_NAME,
          labels: {
            'kubernetes.io/hostname': NODE_NAME,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': os.arch() === 'x64' ? 'amd64' : os.arch(),
          },
        },
        spec: {},
      });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
    await postStatus();
    await renewLease();
    every(LEASE_RENEW_MS, renewLease);
    every(STATUS_EVERY_MS, postStatus);

    balancers = startLoadBalancers({
      api: adminApi,
      log,
      onChange: () => {
        // Pods already running get to reach the new addresses too.
        for (const w of workers.values()) w.addEgress(balancers!.addresses());
      },
    });

    const context = {
      api,
      nodeName: NODE_NAME,
      apiServer: { port: options.apiServerPort, caPem: options.caPem },
      egress: () => balancers?.addresses() ?? [],
      log,
    };
    api.inform(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${NODE_NAME}`)}`,
      pod => {
        const uid = pod.metadata.uid;
        const worker = workers.get(uid);
        if (worker) {
          worker.update(pod);
          return;
        }
        if (['Succeeded', 'Failed'].includes(pod.status?.phase)) return;
        const w = new PodWorker(pod, context);
        workers.set(uid, w);
        if (pod.metadata.deletionTimestamp) w.update(pod);
        else w.start();
      },
      pod => {
        const w = workers.get(pod.metadata.uid);
        workers.delete(pod.metadata.uid);
        w?.stop().catch(e => log((e as Error).message));
      },
      abort.signal,
    );

    // Schedulable once the node lifecycle controller has seen it Ready and lifted its taint.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const node = await api.request<Json>('GET', `/api/v1/nodes/${NODE_NAME}`);
      const taints: Json[] = node.spec?.taints ?? [];
      if (!taints.some(t => t.key === 'node.kubernetes.io/not-ready')) break;
      if (Date.now() > deadline)
        throw new Error(
          `node ${NODE_NAME} still has the taint node.kubernetes.io/not-ready after ${READY_TIMEOUT_MS} ms (kube-controller-manager's node lifecycle controller removes it)`,
        );
      await new Promise(r => setTimeout(r, 200));
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    name: NODE_NAME,
    containerPid(namespace, name) {
      for (const w of workers.values())
        if (w.namespace === namespace && w.name === name) return w.pid;
      return undefined;
    },
    hostAddress: podIP => podHostAddresses.get(podIP),
    logs: () => [...problems],
    stop,
  };
}
