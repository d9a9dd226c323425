/**
 * Services of type LoadBalancer, the role MetalLB or cloud-provider-kind play: each gets a loopback
 * address of its own (spec.loadBalancerIP when it names a free 127.x.y.z), written to
 * status.loadBalancer.ingress; a listener per TCP port there forwards each connection to a ready
 * endpoint of the Service's EndpointSlices (round robin), at the loopback address where the node
 * forwards that Pod IP's ports (addresses.ts).
 */
import net from 'node:net';
import { isPortTaken } from '../process';
import {
  claimAddress,
  isLoopback,
  pickAddress,
  podHostAddresses,
  releaseAddress,
} from './addresses';
import { Json, KubeApi } from './kubeApi';

interface Balancer {
  uid: string;
  namespace: string;
  name: string;
  address: string;
  /** The Service's ports it listens on, as last applied (name/port/protocol). */
  portsKey: string;
  servers: net.Server[];
  next: number;
}

export interface LoadBalancers {
  /** Every address:port listened on (pods get egress to these). */
  addresses(): Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

const listen = (server: net.Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/**
 * Watches Services and EndpointSlices through `api` (a client allowed to update services/status)
 * and keeps one listener set per LoadBalancer Service; `onChange` is told when addresses appear.
 */
export function startLoadBalancers(options: {
  api: KubeApi;
  onChange: () => void;
  log: (message: string) => void;
}): LoadBalancers {
  const { api } = options;
  const abort = new AbortController();
  const balancers = new Map<string, Balancer>();
  const slices = new Map<string, Json>();
  // Service changes are applied one at a time, so two events never race on one Service.
  let queue: Promise<void> = Promise.resolve();

  const readyEndpoint = (b: Balancer, servicePort: Json) => {
    const candidates: Array<{ ip: string; port: number }> = [];
    for (const slice of slices.values()) {
      if (
        slice.metadata.namespace !== b.namespace ||
        slice.metadata.labels?.['kubernetes.io/service-name'] !== b.name
      )
        continue;
      const port = (slice.ports ?? []).find(
        (p: Json) => (p.name ?? '') === (servicePort.name ?? ''),
      )?.port;
      if (!port) continue;
      for (const e of slice.endpoints ?? []) {
        // Only ready endpoints take traffic (a not-ready pod drops out).
        if (e.conditions?.ready === false) continue;
        for (const ip of e.addresses ?? []) {
          // A pod of this node: its ports listen on its loopback address.
          const host = podHostAddresses.get(ip);
          if (host) candidates.push({ ip: host, port });
        }
      }
    }
    if (!candidates.length) return undefined;
    return candidates[b.next++ % candidates.length];
  };

  const close = async (b: Balancer) => {
    await Promise.all(
      b.servers.map(s => new Promise<void>(r => s.close(() => r()))),
    );
    releaseAddress(b.address);
  };

  const apply = async (svc: Json) => {
    const uid: string = svc.metadata.uid;
    const isLb = svc.spec?.type === 'LoadBalancer';
    const existing = balancers.get(uid);
    const tcpPorts: Json[] = (svc.spec?.ports ?? []).filter(
      (p: Json) => (p.protocol ?? 'TCP') === 'TCP',
    );
    const portsKey = JSON.stringify(tcpPorts.map(p => [p.name, p.port]));
    if (existing && (!isLb || existing.portsKey !== portsKey)) {
      balancers.delete(uid);
      await close(existing);
    }
    if (!isLb) return;
    let b = balancers.get(uid);
    if (!b) {
      // New ports on a Service keep its address.
      const wanted: string | undefined =
        svc.spec.loadBalancerIP || existing?.address;
      if (wanted && !isLoopback(wanted)) {
        options.log(
          `Service ${svc.metadata.namespace}/${svc.metadata.name}: spec.loadBalancerIP ${wanted} is not a loopback address (127.x.y.z); it gets one of its own`,
        );
      }
      for (let attempt = 0; attempt < 20 && !b; attempt++) {
        const address =
          attempt === 0 && wanted && isLoopback(wanted) && claimAddress(wanted)
            ? wanted
            : pickAddress('loadBalancer');
        const candidate: Balancer = {
          uid,
          namespace: svc.metadata.namespace,
          name: svc.metadata.name,
          address,
          portsKey,
          servers: [],
          next: 0,
        };
        try {
          for (const p of tcpPorts) {
            const server = net.createServer(socket => {
              const target = readyEndpoint(candidate, p);
              if (!target) {
                socket.destroy();
                return;
              }
              const upstream = net.connect(target.port, target.ip);
              socket.pipe(upstream).pipe(socket);
              const end = () => {
                socket.destroy();
                upstream.destroy();
              };
              socket.on('error', end).on('close', end);
              upstream.on('error', end).on('close', end);
            });
            candidate.servers.push(server);
            await listen(server, p.port, address);
            // The cluster's owner decides how long the process lives, not a listener.
            server.unref();
          }
          b = candidate;
        } catch (e) {
          await close(candidate);
          if (!isPortTaken(e)) throw e;
        }
      }
      if (!b)
        throw new Error(
          `Service ${svc.metadata.namespace}/${svc.metadata.name}: no free loopback address`,
        );
      balancers.set(uid, b);
      options.onChange();
    }
    const ingress = [{ ip: b.address, ipMode: 'VIP' }];
    const current = svc.status?.loadBalancer?.ingress;
    if (JSON.stringify(current) !== JSON.stringify(ingress)) {
      await api.request(
        'PATCH',
        `/api/v1/namespaces/${b.namespace}/services/${b.name}/status`,
        { status: { loadBalancer: { ingress } } },
        'application/merge-patch+json',
      );
    }
  };

  const enqueue = (fn: () => Promise<void>) => {
    queue = queue
      .then(fn)
      .catch(e => options.log(`LoadBalancer: ${(e as Error).message}`));
  };

  api.inform(
    '/api/v1/services',
    svc => enqueue(() => apply(svc)),
    svc =>
      enqueue(async () => {
        const b = balancers.get(svc.metadata.uid);
        if (!b) return;
        balancers.delete(svc.metadata.uid);
        await close(b);
      }),
    abort.signal,
  );
  api.inform(
    '/apis/discovery.k8s.io/v1/endpointslices',
    s => slices.set(s.metadata.uid, s),
    s => slices.delete(s.metadata.uid),
    abort.signal,
  );

  return {
    addresses: () =>
      [...balancers.values()].flatMap(b =>
        b.servers.map(s => ({
          host: b.address,
          port: (s.address() as net.AddressInfo).port,
        })),
      ),
    async stop() {
      abort.abort();
      await queue;
      for (const b of balancers.values()) await close(b);
      balancers.clear();
    },
  };
}
