/**
 * @tier integration
 * The living local cluster: real kube-controller-manager and kube-scheduler, the node agent
 * running pods with runPod, LoadBalancer addresses on loopback.
 */
import net from 'node:net';
import http from 'node:http';
import { LocalCluster, startLocalCluster } from '../cluster';
import { KubeApi, Json, KubeApiError } from './kubeApi';

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

async function podsOf(app: string): Promise<Json[]> {
  const list = await api.request<Json>(
    'GET',
    `/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`,
  );
  return list.items;
}

describe('the node', () => {
  it('runs a Deployment: ReplicaSet, Pod on the node, Ready 1/1 from the real controllers', async () => {
    await api.request(
      'POST',
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      httpDeployment('web'),
    );
    const deployment = await until('deployment ready', async () => {
      const d = await api.request<Json>(
        'GET',
        `/apis/apps/v1/namespaces/${NS}/deployments/web`,
      );
      return d.status?.readyReplicas === 1 ? d : undefined;
    });
    expect(deployment.status.availableReplicas).toBe(1);
    const [pod] = await podsOf('web');
    expect(pod.spec.nodeName).toBe('local-node');
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.podIP).toMatch(
      /^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
    );
    expect(pod.status.containerStatuses[0]).toMatchObject({
      ready: true,
      restartCount: 0,
    });
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get(`http://${pod.status.podIP}:8080/index.html`, res => {
          let b = '';
          res.on('data', d => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject),
    );
    expect(body).toBe(`hello from ${pod.metadata.name}\n`);
  });
});
