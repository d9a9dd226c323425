/**
 * The few REST calls the node agent and the LoadBalancer controller make, over node:https with
 * exactly the cluster's CA. Not @kubernetes/client-node: its 2.x is ESM, and this runs inside
 * `npm start`'s CommonJS launcher as well as under jest.
 */
import https from 'node:https';

/** Every request is bounded: a call to the cluster never hangs the agent. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A watch ends on the server's side after this; it is then resumed from its last resourceVersion. */
const WATCH_SECONDS = 60;

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    body: string,
  ) {
    let message = body.slice(0, 500);
    try {
      message = JSON.parse(body).message ?? message;
    } catch {
      // not a Status object
    }
    super(`${method} ${path}: HTTP ${status}: ${message}`);
  }
}

export type Json = Record<string, any>;

export interface KubeCredentials {
  server: string;
  caPem: string;
  token: string;
}

export class KubeApi {
  private readonly agent: https.Agent;

  constructor(private readonly credentials: KubeCredentials) {
    this.agent = new https.Agent({
      ca: credentials.caPem,
      keepAlive: true,
      maxSockets: 8,
    });
  }

  /** A JSON request; rejects with KubeApiError on a non-2xx answer. */
  request<T = Json>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const url = `${this.credentials.server}${path}`;
    const payload =
      body !== undefined ? Buffer.from(JSON.stringify(body)) : undefined;
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.credentials.token}`,
            accept: 'application/json',
            ...(payload
              ? {
                  'content-type': contentType,
                  'content-length': String(payload.length),
                }
              : {}),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', c => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new KubeApiError(status, method, path, text));
              return;
            }
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(
          new Error(
            `${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`,
          ),
        ),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * Lists `path` and follows it with watches (resumed from the last resourceVersion, listed again
   * when it is too old), calling `onChange` for every object added or modified and `onDelete` for
   * every object gone, until `signal` aborts. A failing call is retried after a second.
   */
  inform(
    path: string,
    onChange: (obj: Json) => void,
    onDelete: (obj: Json) => void,
    signal: AbortSignal,
  ): void {
    const known = new Map<string, Json>();
    const sep = path.includes('?') ? '&' : '?';
    const loop = async () => {
      let resourceVersion: string | undefined;
      while (!signal.aborted) {
        try {
          if (!resourceVersion) {
            const list = await this.request<Json>('GET', path);
            resourceVersion = list.metadata.resourceVersion;
            const seen = new Set<string>();
            for (const item of list.items ?? []) {
              seen.add(item.metadata.uid);
              known.set(item.metadata.uid, item);
              onChange(item);
            }
            for (const [uid, obj] of known) {
              if (!seen.has(uid)) {
                known.delete(uid);
                onDelete(obj);
              }
            }
          }
          resourceVersion = await this.watchOnce(
            `${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=${WATCH_SECONDS}&resourceVersion=${resourceVersion}`,
            (type, obj) => {
              if (type === 'DELETED') {
                known.delete(obj.metadata.uid);
                onDelete(obj);
              } else {
                known.set(obj.metadata.uid, obj);
                onChange(obj);
              }
            },
            signal,
          );
        } catch (e) {
          if (e instanceof KubeApiError && e.status === 410)
            resourceVersion = undefined;
          if (signal.aborted) return;
          await new Promise(r => setTimeout(r, 1000));
        }
      }
    };
    loop().catch(() => undefined);
  }

  /** One watch request; resolves with the last resourceVersion seen (undefined: list again). */
  private watchOnce(
    path: string,
    onEvent: (type: string, obj: Json) => void,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    let resourceVersion = /resourceVersion=([^&]+)/.exec(path)?.[1];
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.credentials.server}${path}`, {
        agent: this.agent,
        headers: { authorization: `Bearer ${this.credentials.token}` },
        // The server ends the watch after WATCH_SECONDS; silence much longer than that is a dead peer.
        timeout: (WATCH_SECONDS + 30) * 1000,
        signal,
      });
      req.on('response', res => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', c => chunks.push(c));
          res.on('end', () =>
            reject(
              new KubeApiError(
                res.statusCode ?? 0,
                'GET',
                path,
                Buffer.concat(chunks).toString('utf8'),
              ),
            ),
          );
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (
            let nl = buffer.indexOf('\n');
            nl >= 0;
            nl = buffer.indexOf('\n')
          ) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (!line.trim()) continue;
            const event = JSON.parse(line) as { type: string; object: Json };
            if (event.type === 'ERROR') {
              // 410 Gone: the resourceVersion is too old; list again.
              resolve(event.object?.code === 410 ? undefined : resourceVersion);
              req.destroy();
              return;
            }
            resourceVersion =
              event.object?.metadata?.resourceVersion ?? resourceVersion;
            if (event.type !== 'BOOKMARK') onEvent(event.type, event.object);
          }
        });
        res.on('end', () => resolve(resourceVersion));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('watch went silent')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
