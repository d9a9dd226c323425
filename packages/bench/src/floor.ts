import http2 from 'node:http2';
import { LocalCluster } from '@backstage-dex/local-cluster';
import type { KubeObject } from '@backstage-dex/plugin-dex-node';

const FIELD_MANAGER = 'bench-floor';
/** Every request the floor makes is bounded, so a stuck apiserver fails the bench instead of hanging it. */
const REQUEST_TIMEOUT_MS = 30_000;

interface Resource {
  plural: string;
  namespaced: boolean;
}

/**
 * The floor: the least a client must do to write (or read) the pack's objects. One HTTP/2
 * connection to the apiserver, every object a server-side-apply PATCH (or a GET) sent at once,
 * the Namespace first because the others live in it. No reads before writing, no certificates,
 * no rendering: the objects are given. REST paths come from discovery, made once in `connect`
 * and outside every timing.
 */
export interface Floor {
  /** Discovers the REST paths of these objects' kinds (call before timing). */
  prepare(objects: KubeObject[]): Promise<void>;
  apply(objects: KubeObject[]): Promise<void>;
  read(objects: KubeObject[]): Promise<void>;
  close(): void;
}

export async function connectFloor(cluster: LocalCluster): Promise<Floor> {
  const session = http2.connect(cluster.server, { ca: cluster.caPem });
  session.on('error', () => {});
  const request = (
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({
        ':method': method,
        ':path': path,
        authorization: `Bearer ${cluster.token}`,
        accept: 'application/json',
        ...(contentType ? { 'content-type': contentType } : {}),
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.close(http2.constants.NGHTTP2_CANCEL),
      );
      let status = 0;
      const chunks: Buffer[] = [];
      req.on('response', h => {
        status = Number(h[':status']);
      });
      req.on('data', c => chunks.push(c));
      req.on('end', () =>
        resolve({ status, body: Buffer.concat(chunks).toString('utf8') }),
      );
      req.on('close', () => {
        if (!status)
          reject(
            new Error(
              `${method} ${path}: no answer from ${cluster.server} within ${REQUEST_TIMEOUT_MS} ms`,
            ),
          );
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });

  const resources = new Map<string, Resource>();
  const discover = async (apiVersion: string) => {
    const base = apiVersion.includes('/')
      ? `/apis/${apiVersion}`
      : `/api/${apiVersion}`;
    const res = await request('GET', base);
    if (res.status !== 200)
      throw new Error(
        `discovery of ${apiVersion} at ${cluster.server}${base}: HTTP ${res.status}`,
      );
    for (const r of JSON.parse(res.body).resources as {
      name: string;
      kind: string;
      namespaced: boolean;
    }[]) {
      if (!r.name.includes('/'))
        resources.set(`${apiVersion}/${r.kind}`, {
          plural: r.name,
          namespaced: r.namespaced,
        });
    }
  };
  const pathOf = async (o: KubeObject) => {
    const key = `${o.apiVersion}/${o.kind}`;
    if (!resources.has(key)) await discover(o.apiVersion);
    const r = resources.get(key);
    if (!r)
      throw new Error(
        `${cluster.server} does not serve ${o.kind} in ${o.apiVersion}`,
      );
    const base = o.apiVersion.includes('/')
      ? `/apis/${o.apiVersion}`
      : `/api/${o.apiVersion}`;
    const ns = r.namespaced
      ? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? '')}`
      : '';
    return `${base}${ns}/${r.plural}/${encodeURIComponent(o.metadata.name)}`;
  };
  const check = (what: string, res: { status: number; body: string }) => {
    if (res.status >= 300)
      throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  };
  const inOrder = async (
    objects: KubeObject[],
    each: (o: KubeObject) => Promise<void>,
  ) => {
    const first = objects.filter(o => o.kind === 'Namespace');
    await Promise.all(first.map(each));
    await Promise.all(objects.filter(o => o.kind !== 'Namespace').map(each));
  };

  return {
    async prepare(objects) {
      await Promise.all(objects.map(pathOf));
    },
    async apply(objects) {
      // Paths first (discovery is cached), so the timing holds the writes only.
      const paths = new Map(
        await Promise.all(
          objects.map(async o => [o, await pathOf(o)] as const),
        ),
      );
      await inOrder(objects, async o => {
        const res = await request(
          'PATCH',
          `${paths.get(o)}?fieldManager=${FIELD_MANAGER}&force=true`,
          JSON.stringify(o),
          'application/apply-patch+yaml',
        );
        check(`applying ${o.kind} ${o.metadata.name}`, res);
      });
    },
    async read(objects) {
      const paths = new Map(
        await Promise.all(
          objects.map(async o => [o, await pathOf(o)] as const),
        ),
      );
      await Promise.all(
        objects.map(async o =>
          check(
            `reading ${o.kind} ${o.metadata.name}`,
            await request('GET', paths.get(o)!),
          ),
        ),
      );
    },
    close() {
      session.close();
    },
  };
}
