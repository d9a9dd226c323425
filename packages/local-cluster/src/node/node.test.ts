/**
 * @tier integration
 * The living local cluster: real kube-controller-manager and kube-scheduler, the node agent
 * running pods with runPod, LoadBalancer addresses on loopback.
 */
import http from 'node:http';
import { LocalCluster, startLocalCluster } from '../cluster';
import { KubeApi, Json } from './kubeApi';

const SHELL_IMAGE = 'mintel/dex-k8s-authenticator:1.4.0';
const NS = 'node-test';

let cluster: LocalCluster;
let api: KubeApi;
let startSeconds = 0;

jest.setTimeout(180_000);

beforeAll(async () => {
  const began = Date.now();
  cluster = await startLocalCluster({
    node: true,
    onProgress: line => process.stdout.write(`${line}\n`),
  });
  startSeconds = (Date.now() - began) / 1000;
  // eslint-disable-next-line no-console
  console.log(
    `local cluster with the node started in ${startSeconds.toFixed(1)} s`,
  );
  api = new KubeApi({
    server: cluster.server,
    caPem: cluster.caPem,
    token: cluster.token,
  });
  await api.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  });
});

afterAll(async () => {
  api?.close();
  await cluster?.stop();
});

/** Polls `fn` until it returns a value (not undefined); the test's own timeout bounds it. */
async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  let last: unknown;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const pods = await api.request<Json>(
        'GET',
        `/api/v1/namespaces/${NS}/pods`,
      );
      const events = await api.request<Json>(
        'GET',
        `/api/v1/namespaces/${NS}/events`,
      );
      throw new Error(
        `${what}: not within 60 s (${last}).\nPods: ${JSON.stringify(
          pods.items.map((p: Json) => ({
            name: p.metadata.name,
            node: p.spec.nodeName,
            status: p.status,
          })),
          null,
          1,
        )}\nEvents: ${events.items.map((e: Json) => `${e.reason}: ${e.message}`).join('\n')}\nNode: ${cluster.node?.logs().join('\n')}`,
      );
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

function httpDeployment(name: string, extra: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: SHELL_IMAGE,
              command: [
                '/bin/sh',
                '-c',
                'mkdir -p /tmp/www && echo "hello from $HOSTNAME" > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www',
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: {
                httpGet: { path: '/index.html', port: 'http' },
                periodSeconds: 1,
                failureThreshold: 1,
              },
              ...extra,
            },
          ],
        },
      },
    },
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) =>
    http
      // A new connection each time (no keep-alive): each one is forwarded as the balancer is now.
      .get(url, { agent: false }, res => {
        let body = '';
        res.on('data', d => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject),
  );
}

async function deploymentReady(name: string): Promise<Json> {
  return until(`deployment ${name} ready`, async () => {
    const d = await api.request<Json>(
      'GET',
      `/apis/apps/v1/namespaces/${NS}/deployments/${name}`,
    );
    return d.status?.readyReplicas === 1 ? d : undefined;
  });
}

async function eventsOf(name: string): Promise<string[]> {
  const events = await api.request<Json>(
    'GET',
    `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`,
  );
  return events.items.map((e: Json) => `${e.reason}: ${e.message}`);
}

async function podsOf(app: string): Promise<Json[]> {
  const list = await api.request<Json>(
    'GET',
    `/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`,
  );
  return list.items;
}

/** The app's pod once its container has been restarted at least once. */
function restartedPodOf(app: string, what: string): Promise<Json> {
  return until(what, async () => {
    const [p] = await podsOf(app);
    return p?.status.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
  });
}

describe('the node', () => {
  it('runs a Deployment: ReplicaSet, Pod on the node, Ready 1/1 from the real controllers', async () => {
    await api.request(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      httpDeployment('web'),
    );
    const deployment = await deploymentReady('web');
    expect(deployment.status.availableReplicas).toBe(1);
    const [pod] = await podsOf('web');
    expect(pod.spec.nodeName).toBe('local-node');
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.podIP).toMatch(/^10\.244\./);
    const host = cluster.node!.hostAddress(pod.status.podIP)!;
    expect(host).toMatch(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
    expect(pod.status.containerStatuses[0]).toMatchObject({
      ready: true,
      restartCount: 0,
    });
    const { body } = await get(`http://${host}:8080/index.html`);
    expect(body).toBe(`hello from ${pod.metadata.name}\n`);
    const node = await api.request<Json>('GET', '/api/v1/nodes/local-node');
    expect(
      node.status.conditions.find((c: Json) => c.type === 'Ready').status,
    ).toBe('True');
    const lease = await api.request<Json>(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/local-node',
    );
    expect(lease.spec.holderIdentity).toBe('local-node');
  });

  it('restarts a killed container (restartCount 1) and it becomes Ready again', async () => {
    const [pod] = await podsOf('web');
    const pid = cluster.node!.containerPid(NS, pod.metadata.name)!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const restarted = await until('restarted and ready', async () => {
      const [p] = await podsOf('web');
      const cs = p.status.containerStatuses?.[0];
      return cs?.restartCount === 1 && cs.ready ? p : undefined;
    });
    expect(restarted.metadata.uid).toBe(pod.metadata.uid);
    expect(
      restarted.status.containerStatuses[0].lastState.terminated,
    ).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(restarted.status.podIP).toBe(pod.status.podIP);
    const host = cluster.node!.hostAddress(pod.status.podIP)!;
    expect((await get(`http://${host}:8080/index.html`)).status).toBe(200);
  });

  it('restarts a container whose liveness probe fails, with an Event saying so', async () => {
    await api.request(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      httpDeployment('sick', {
        // Sick in its first life only: a restart starts with an empty /tmp, then a marker file is there.
        command: [
          '/bin/sh',
          '-c',
          'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www',
        ],
        livenessProbe: {
          exec: { command: ['/bin/sh', '-c', 'test -e /tmp/www/healthy'] },
          periodSeconds: 1,
          failureThreshold: 2,
        },
      }),
    );
    const pod = await restartedPodOf('sick', 'restarted by liveness');
    const messages = await eventsOf(pod.metadata.name);
    expect(messages).toContain(
      'Killing: Container web failed liveness probe, will be restarted',
    );
    expect(
      messages.some(m =>
        m.startsWith('Unhealthy: Liveness probe failed: exec'),
      ),
    ).toBe(true);
    await api.request(
      'DELETE',
      `/apis/apps/v1/namespaces/${NS}/deployments/sick`,
    );
  });

  it('holds readiness and liveness until the startup probe passes, then is Ready at once', async () => {
    // Liveness fails at its first try until the marker file exists: run before the startup probe
    // passed, it would restart the container.
    const marker = ['/bin/sh', '-c', 'test -e /tmp/www/started'];
    await api.request(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      httpDeployment('slow', {
        startupProbe: {
          exec: { command: marker },
          periodSeconds: 1,
          failureThreshold: 600,
        },
        livenessProbe: {
          exec: { command: marker },
          periodSeconds: 1,
          failureThreshold: 1,
        },
      }),
    );
    const starting = await until('startup probe failing', async () => {
      const [p] = await podsOf('slow');
      if (!p?.status.containerStatuses?.[0]?.state?.running) return undefined;
      const messages = await eventsOf(p.metadata.name);
      return messages.some(m =>
        m.startsWith('Unhealthy: Startup probe failed: exec'),
      )
        ? p
        : undefined;
    });
    expect(starting.status.containerStatuses[0]).toMatchObject({
      started: false,
      ready: false,
    });
    const pid = cluster.node!.containerPid(NS, starting.metadata.name)!;
    const { execFileSync } = await import('node:child_process');
    execFileSync('/usr/bin/nsenter', [
      '-t',
      String(pid),
      '-m',
      '-r',
      '--',
      '/bin/sh',
      '-c',
      'echo > /tmp/www/started',
    ]);
    const ready = await until('started and ready', async () => {
      const [p] = await podsOf('slow');
      return p?.status.containerStatuses?.[0]?.ready ? p : undefined;
    });
    expect(ready.metadata.uid).toBe(starting.metadata.uid);
    expect(ready.status.containerStatuses[0]).toMatchObject({
      started: true,
      restartCount: 0,
    });
    const messages = await eventsOf(ready.metadata.name);
    expect(
      messages.filter(m =>
        /^(Unhealthy: (Liveness|Readiness)|Killing)/.test(m),
      ),
    ).toEqual([]);
    await api.request(
      'DELETE',
      `/apis/apps/v1/namespaces/${NS}/deployments/slow`,
    );
  });

  it('restarts a container whose startup probe fails past its threshold, with an Event saying so', async () => {
    await api.request(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      httpDeployment('stuck', {
        startupProbe: {
          exec: { command: ['/bin/sh', '-c', 'test -e /tmp/www/never'] },
          periodSeconds: 1,
          failureThreshold: 2,
        },
      }),
    );
    const pod = await restartedPodOf('stuck', 'restarted by the startup probe');
    expect(pod.status.containerStatuses[0].ready).toBe(false);
    const messages = await eventsOf(pod.metadata.name);
    expect(messages).toContain(
      'Killing: Container web failed startup probe, will be restarted',
    );
    expect(
      messages.some(m => m.startsWith('Unhealthy: Startup probe failed: exec')),
    ).toBe(true);
    await api.request(
      'DELETE',
      `/apis/apps/v1/namespaces/${NS}/deployments/stuck`,
    );
  });

  it('gives a LoadBalancer Service a loopback address that forwards to ready endpoints only', async () => {
    await api.request('POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    });
    const ip = await until('LoadBalancer address', async () => {
      const svc = await api.request<Json>(
        'GET',
        `/api/v1/namespaces/${NS}/services/web`,
      );
      return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
    });
    expect(ip).toMatch(/^127\.(1[3-8]\d|19[01])\./);
    const [pod] = await podsOf('web');
    const answer = await until('answer through the LoadBalancer', async () => {
      const res = await get(`http://${ip}:80/index.html`);
      return res.status === 200 ? res.body : undefined;
    });
    expect(answer).toBe(`hello from ${pod.metadata.name}\n`);

    // Another port on the Service: the same address, the new port.
    await api.request(
      'PATCH',
      `/api/v1/namespaces/${NS}/services/web`,
      { spec: { ports: [{ name: 'http', port: 8081, targetPort: 'http' }] } },
      'application/merge-patch+json',
    );
    const moved = await until('answer on the new port', async () => {
      const res = await get(`http://${ip}:8081/index.html`);
      return res.status === 200 ? res.body : undefined;
    });
    expect(moved).toBe(answer);

    // Not ready (its readiness probe's file is gone): out of the EndpointSlice's ready endpoints,
    // and the LoadBalancer forwards nothing.
    const pid = cluster.node!.containerPid(NS, pod.metadata.name)!;
    // The container's /tmp is its own: enter its mount namespace to remove the served file.
    const { execFileSync } = await import('node:child_process');
    execFileSync('/usr/bin/nsenter', [
      '-t',
      String(pid),
      '-m',
      '-r',
      '--',
      '/bin/rm',
      '/tmp/www/index.html',
    ]);
    const slice = await until('endpoint not ready', async () => {
      const slices = await api.request<Json>(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=web')}`,
      );
      const endpoints = slices.items.flatMap((s: Json) => s.endpoints ?? []);
      return endpoints.length === 1 && endpoints[0].conditions.ready === false
        ? endpoints[0]
        : undefined;
    });
    expect(slice.addresses).toEqual([pod.status.podIP]);
    // The balancer learns of the slice from its own watch, a moment after this test may see it.
    const refused = await until('the LoadBalancer to forward nothing', () =>
      get(`http://${ip}:8081/index.html`).then(
        () => undefined,
        (e: Error) => e,
      ),
    );
    expect(refused.message).toMatch(/socket hang up|ECONNRESET/);
  });

  it('leaves a Pod whose image has no local program Pending, with an Event naming the image', async () => {
    await api.request('POST', `/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx', namespace: NS, labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    });
    const pod = await until('image error', async () => {
      const [p] = await podsOf('nginx');
      return p?.status.containerStatuses?.[0]?.state?.waiting ? p : undefined;
    });
    expect(pod.status.phase).toBe('Pending');
    expect(pod.status.containerStatuses[0].state.waiting.reason).toMatch(
      /^(ErrImagePull|ImagePullBackOff)$/,
    );
    const messages = await eventsOf('nginx');
    expect(
      messages.find(m =>
        m.startsWith('Failed: Failed to pull image "nginx:1.27"'),
      ),
    ).toMatch(/no program is built for this image here/);
  });

  it('stops the container when its Pod is deleted, and the Pod goes', async () => {
    const [pod] = await podsOf('web');
    const pid = cluster.node!.containerPid(NS, pod.metadata.name)!;
    await api.request(
      'DELETE',
      `/apis/apps/v1/namespaces/${NS}/deployments/web`,
    );
    await until('pod gone', async () =>
      (await podsOf('web')).length === 0 ? true : undefined,
    );
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
