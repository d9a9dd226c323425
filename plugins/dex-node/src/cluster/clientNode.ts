import type https from 'node:https';
import type * as ClientNode from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  Exchange,
  ExchangeRequest,
  TlsSettings,
  Transport,
  http2Transport,
} from './http2Connection';
import { PROTOBUF_CONTENT_TYPE, decodeStatus } from './protobuf';

export type K8s = typeof ClientNode;

let loaded: Promise<K8s> | undefined;

/**
 * @kubernetes/client-node 2.x is ESM-only; a dynamic import loads it from this CommonJS package
 * (and under jest, which cannot require() ES modules).
 */
export function clientNode(): Promise<K8s> {
  // Objects go and come as the apiserver's JSON (clusterClient sends plain requests), so no model
  // class of client-node rewrites them (it would drop a CRD's x-kubernetes-preserve-unknown-fields).
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

type Dispatcher = {
  close(): Promise<void>;
  /** undici's Dispatcher.request (client-node's dispatchers are undici Agents). */
  request?(options: ExchangeRequest): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: { arrayBuffer(): Promise<ArrayBuffer> } & AsyncIterable<Buffer>;
  }>;
};
type AuthContext = {
  getDispatcher(): Dispatcher | undefined;
  setDispatcher(d: Dispatcher): void;
};
const shared = new WeakSet<KubeConfig>();

/** The kubeconfig's current cluster and user as https options (files and data read by client-node). */
async function httpsOptionsOf(kc: KubeConfig): Promise<https.RequestOptions> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  return options;
}

/** The TLS settings among a kubeconfig's https options. */
function tlsSettingsOf(tls: https.RequestOptions): TlsSettings {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    pfx: tls.pfx,
    passphrase: tls.passphrase,
    rejectUnauthorized: tls.rejectUnauthorized,
    servername: tls.servername,
  };
}

/** The headers a kubeconfig's credentials add to a request (bearer token, basic auth, impersonation). */
function credentialHeadersOf(
  tls: https.RequestOptions,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(tls.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (tls.auth)
    headers.authorization = `Basic ${Buffer.from(tls.auth).toString('base64')}`;
  return headers;
}

/**
 * The pool that replaces client-node's per-request Agent: the same undici Agent class and TLS
 * options, with HTTP/2 allowed. kube-apiservers speak HTTP/2 over TLS, so concurrent calls share
 * one connection (as kubectl's do) instead of opening one TLS connection each: a provision sends
 * up to 20 requests at once, and the status reader 4 per cluster. Through a proxy, client-node's
 * own dispatcher is kept.
 */
async function pooledDispatcher(
  kc: KubeConfig,
  fresh: Dispatcher,
): Promise<Dispatcher> {
  const options = kc.createDispatcherOptions(
    kc.getCurrentCluster(),
    tlsSettingsOf(await httpsOptionsOf(kc)),
  );
  if (options.type !== 'agent') return fresh;
  const Agent = fresh.constructor as new (o: {
    connect: unknown;
    allowH2: boolean;
  }) => Dispatcher;
  fresh.close().catch(() => {});
  return new Agent({ connect: options.connect, allowH2: true });
}

/**
 * Makes every request through `kc` share one connection pool (HTTP/2 where possible). client-node
 * 2.0 builds a new undici Agent for every request, i.e. a new TLS connection each time that is
 * never reused: a provision opened ~40 of them, and 20 provisions at once had the apiserver reset
 * connections (ECONNRESET). Idempotent; the pool is keyed by context, server and user, so
 * switching context gets its own.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  if (shared.has(kc)) return kc;
  shared.add(kc);
  const original = kc.applySecurityAuthentication.bind(kc);
  const pools = new Map<string, Promise<Dispatcher>>();
  kc.applySecurityAuthentication = async (
    context: Parameters<KubeConfig['applySecurityAuthentication']>[0],
  ) => {
    await original(context);
    const ctx = context as unknown as AuthContext;
    const fresh = ctx.getDispatcher();
    if (!fresh) return;
    const key = JSON.stringify([
      kc.getCurrentContext(),
      kc.getCurrentCluster()?.server,
      kc.getCurrentUser()?.name,
    ]);
    let pool = pools.get(key);
    if (!pool) {
      pool = pooledDispatcher(kc, fresh);
      pools.set(key, pool);
      pool.catch(() => pools.delete(key));
      ctx.setDispatcher(await pool);
      return;
    }
    ctx.setDispatcher(await pool);
    // Never used: it has no connections to drain.
    fresh.close().catch(() => {});
  };
  return kc;
}

/** One request to a kube-apiserver; the answer is JSON. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PATCH';
  /** From the server's root, e.g. /api/v1/namespaces/dex/secrets/dex-ca. */
  path: string;
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  /** The Accept header (default application/json). */
  accept?: string;
  /** Aborts the request (its connection stream, not only the wait). */
  signal?: AbortSignal;
  /**
   * A GET whose answer may be handed out shared: when its bytes are the same as the last one of
   * this path, the same parsed (and frozen) value is returned instead of parsing it again. Only
   * for answers that hold no secret (they are kept) and callers that only read them.
   */
  shared?: boolean;
  /** A GET whose 404 means "absent": it resolves undefined (no error made for an expected answer). */
  absentIfNotFound?: boolean;
}

/** Parsed answers of shared GETs by path, with their bytes, and the bytes kept in all. */
interface SharedAnswers {
  byPath: Map<string, { bytes: Buffer; value: unknown }>;
  size: number;
}

const sharedAnswers = new WeakMap<KubeConfig, SharedAnswers>();
/**
 * Bytes of answers kept per KubeConfig (their parsed values take about as much again), oldest
 * dropped first: a pack's objects are a few KB each, so this holds some hundred packs.
 */
export const MAX_SHARED_ANSWER_BYTES = 4 * 1024 * 1024;
/** A larger answer is parsed every time and not kept. */
const MAX_KEPT_ANSWER_BYTES = MAX_SHARED_ANSWER_BYTES / 16;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The parsed answer of a shared GET: the last one of the path when the bytes are the same (an
 * unchanged object answers the same bytes; decoding and parsing 28 answers was the largest part of
 * an unchanged re-run's own work), else parsed, frozen and kept.
 */
function sharedAnswer(kc: KubeConfig, path: string, bytes: Buffer): unknown {
  let answers = sharedAnswers.get(kc);
  if (!answers) {
    answers = { byPath: new Map(), size: 0 };
    sharedAnswers.set(kc, answers);
  }
  const known = answers.byPath.get(path);
  if (known?.bytes.equals(bytes)) return known.value;
  const value = deepFreeze(JSON.parse(bytes.toString('utf8')));
  if (known) {
    answers.byPath.delete(path);
    answers.size -= known.bytes.length;
  }
  if (bytes.length <= MAX_KEPT_ANSWER_BYTES) {
    for (const [oldest, kept] of answers.byPath) {
      if (answers.size + bytes.length <= MAX_SHARED_ANSWER_BYTES) break;
      answers.byPath.delete(oldest);
      answers.size -= kept.bytes.length;
    }
    // A copy: the answer may be a view of a larger buffer, which keeping it would hold.
    answers.byPath.set(path, { bytes: Buffer.from(bytes), value });
    answers.size += bytes.length;
  }
  return value;
}

/** An answer outside 2xx, shaped as client-node's errors are (`code`, `body`). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
  ) {
    super(
      `HTTP ${code}${(body as { message?: string } | undefined)?.message ? `: ${(body as { message: string }).message}` : ''}`,
    );
    this.name = 'KubeApiError';
  }
}

/**
 * Sends one request with the KubeConfig's credentials (token, client certificate, exec or
 * auth-provider plugins: client-node applies them) on its shared connection pool, and parses the
 * JSON answer as it is. client-node's typed APIs would convert every object into its model
 * classes (and back), which costs more than the request on a large list, and the generic object
 * API cannot take a per-call AbortSignal.
 */
export async function kubeRequest<T>(
  kc: KubeConfig,
  request: KubeRequest,
): Promise<T> {
  const prepared = prepare(kc, request);
  const { pool, url, init } =
    prepared instanceof Promise ? await prepared : prepared;
  const { status, body } = await send(pool, url, init);
  if (status === 404 && request.absentIfNotFound) return undefined as T;
  if (
    request.shared &&
    request.method === 'GET' &&
    status === 200 &&
    body.length
  )
    try {
      return sharedAnswer(kc, url.path, body) as T;
    } catch {
      throw new Error(`${request.path}: the answer is not JSON`);
    }
  const text = body.toString('utf8');
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    if (status < 300)
      throw new Error(`${request.path}: the answer is not JSON`);
  }
  if (status >= 200 && status < 300) return parsed as T;
  throw new KubeApiError(status, parsed);
}

/**
 * As kubeRequest, for an answer that may come in another encoding than JSON (`request.accept`,
 * e.g. protobuf): its Content-Type and bytes, for the caller to decode. An answer outside 2xx is a
 * KubeApiError with the apiserver's Status, whichever encoding it came in.
 */
export async function kubeRequestBytes(
  kc: KubeConfig,
  request: KubeRequest & { method: 'GET' },
): Promise<{ contentType: string; bytes: Uint8Array }> {
  const { pool, url, init } = await prepare(kc, request);
  const { status, contentType, body } = await send(pool, url, init);
  if (status >= 200 && status < 300) return { contentType, bytes: body };
  let parsed: unknown = body.toString('utf8');
  try {
    parsed = contentType.startsWith(PROTOBUF_CONTENT_TYPE)
      ? decodeStatus(body)
      : JSON.parse(parsed as string);
  } catch {
    // not a Status: the text is the message
  }
  throw new KubeApiError(status, parsed);
}

/** How requests reach one apiserver as one user: the transport, and the credentials' headers. */
interface Target {
  transport: Transport | undefined;
  /** The server's origin, and its path (without a trailing slash) that every request's follows. */
  origin: string;
  pathPrefix: string;
  /** The credentials' headers when they are fixed; otherwise `credentials()` on every request. */
  fixedCredentials?: Record<string, string>;
  credentials(): Promise<Record<string, string>>;
}

/** A target being made, and once it is, the target itself (to use without waiting). */
interface TargetEntry {
  making: Promise<Target>;
  made?: Target;
}

const targetsByConfig = new WeakMap<KubeConfig, Map<string, TargetEntry>>();

function targetKey(kc: KubeConfig, server: string): string {
  return JSON.stringify([
    kc.getCurrentContext(),
    server,
    kc.getCurrentUser()?.name,
  ]);
}

type Prepared = ReturnType<typeof prepareFor>;

/**
 * The URL, headers (with the credentials) and transport of one request: at once when the target
 * is known and its credentials fixed (a re-run's 29 reads then go out in one go), else once they
 * are.
 */
function prepare(
  kc: KubeConfig,
  request: KubeRequest,
): Prepared | Promise<Prepared> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster');
  const entry = targetOf(kc, server);
  const known = entry.made;
  if (known?.fixedCredentials)
    return prepareFor(known, known.fixedCredentials, request);
  return (async () => {
    const target = known ?? (await entry.making);
    return prepareFor(
      target,
      target.fixedCredentials ?? (await target.credentials()),
      request,
    );
  })();
}

function prepareFor(
  target: Target,
  credentials: Record<string, string>,
  request: KubeRequest,
) {
  const query = Object.entries(request.query ?? {}).filter(
    (e): e is [string, string] => e[1] !== undefined,
  );
  const url = {
    origin: target.origin,
    // The server's own path first (e.g. a proxy's /k8s/clusters/<id>).
    path: `${target.pathPrefix}${request.path}${query.length ? `?${new URLSearchParams(query)}` : ''}`,
  };
  const headers: Record<string, string> = {
    accept: request.accept ?? 'application/json',
    ...credentials,
  };
  let body: string | undefined;
  if (request.body !== undefined) {
    headers['content-type'] = request.contentType ?? 'application/json';
    body = JSON.stringify(request.body);
  }
  request.signal?.throwIfAborted();
  return {
    pool: target.transport,
    url,
    init: { method: request.method, headers, body, signal: request.signal },
  };
}

/**
 * A streamed GET whose answer is one JSON document per line (a watch): `onLine` gets each parsed
 * line as it arrives. Resolves when the server ends the stream, rejects with KubeApiError on an
 * answer outside 2xx and with the signal's reason when it aborts (the signal is the only bound:
 * the caller sets it from the watch's own timeout).
 */
export async function kubeStream(
  kc: KubeConfig,
  request: KubeRequest & { method: 'GET' },
  onLine: (line: unknown) => void,
): Promise<void> {
  const { pool, url, init } = await prepare(kc, request);
  if (!pool) throw new Error(`${url.origin}: watching needs https`);
  let res: Exchange;
  try {
    res = await pool.request({
      origin: url.origin,
      path: url.path,
      ...init,
    });
  } catch (e) {
    if (init.signal?.aborted) throw init.signal.reason;
    throw Object.assign(new TypeError('fetch failed'), { cause: e });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const text = (await res.body.bytes()).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the text is the message
    }
    throw new KubeApiError(res.statusCode, parsed);
  }
  let rest = '';
  try {
    for await (const chunk of res.body) {
      rest += chunk.toString('utf8');
      let newline = rest.indexOf('\n');
      while (newline >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        if (line.trim()) onLine(JSON.parse(line));
        newline = rest.indexOf('\n');
      }
    }
  } catch (e) {
    if (init.signal?.aborted) throw init.signal.reason;
    throw e;
  }
  if (rest.trim()) onLine(JSON.parse(rest));
}

/**
 * One exchange on the transport (node:http2, or undici's request(): its fast path; fetch() adds
 * WHATWG streams and Headers to every call), or fetch() when there is none (plain http).
 * Transport failures are shaped as fetch's (`cause` carries the code), which describeKubeError
 * reads.
 */
async function send(
  pool: Transport | undefined,
  url: { origin: string; path: string },
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
  },
): Promise<{ status: number; contentType: string; body: Buffer }> {
  if (!pool) {
    const res = await fetch(`${url.origin}${url.path}`, init);
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: Buffer.from(await res.arrayBuffer()),
    };
  }
  try {
    const res = await pool.request({
      origin: url.origin,
      path: url.path,
      ...init,
    });
    const contentType = res.headers['content-type'];
    return {
      status: res.statusCode,
      contentType:
        (Array.isArray(contentType) ? contentType[0] : contentType) ?? '',
      body: await res.body.bytes(),
    };
  } catch (e) {
    const name = (e as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') throw e;
    if (init.signal?.aborted) throw init.signal.reason;
    throw Object.assign(new TypeError('fetch failed'), { cause: e });
  }
}

/**
 * Whether client-node may give other credentials on a later request: exec plugins and auth
 * providers (the in-cluster token file among them) renew tokens, and so may an authenticator
 * added to the KubeConfig. A token, client certificate or basic auth of the kubeconfig is fixed.
 */
function credentialsRenew(kc: KubeConfig): boolean {
  const user = kc.getCurrentUser();
  const added = (kc as unknown as { custom_authenticators?: unknown })
    .custom_authenticators;
  return (
    !!user?.exec ||
    !!user?.authProvider ||
    !(Array.isArray(added) && added.length === 0)
  );
}

/** client-node's transport: its undici Agent made shared (see shareConnections), or none. */
async function undiciPool(
  kc: KubeConfig,
  server: string,
): Promise<Transport | undefined> {
  const k8s = await clientNode();
  const ctx = new k8s.RequestContext(server, 'GET' as ClientNode.HttpMethod);
  await shareConnections(kc).applySecurityAuthentication(ctx);
  const pool = (ctx as unknown as AuthContext).getDispatcher();
  const request = pool?.request;
  return (
    pool &&
    request && {
      request: async r => {
        const res = await request.call(pool, r);
        return {
          statusCode: res.statusCode,
          headers: res.headers,
          body: {
            bytes: async () => Buffer.from(await res.body.arrayBuffer()),
            [Symbol.asyncIterator]: () => res.body[Symbol.asyncIterator](),
          },
        };
      },
      close: () => pool.close(),
    }
  );
}

/**
 * The transport and credentials of kc's current context, made once: an https apiserver without a
 * proxy is spoken to over one HTTP/2 connection of our own (http2Connection.ts) with the
 * kubeconfig's TLS settings; through a proxy, client-node's dispatcher is used. Fixed credentials
 * are read once; renewable ones are asked of client-node on every request (it caches them until
 * they expire).
 */
function targetOf(kc: KubeConfig, server: string): TargetEntry {
  let byKey = targetsByConfig.get(kc);
  if (!byKey) {
    byKey = new Map();
    targetsByConfig.set(kc, byKey);
  }
  const key = targetKey(kc, server);
  const existing = byKey.get(key);
  if (existing) return existing;
  const making = (async (): Promise<Target> => {
    const httpsOptions = await httpsOptionsOf(kc);
    const url = new URL(server);
    const where = {
      origin: url.origin,
      pathPrefix: url.pathname.replace(/\/+$/, ''),
      fixedCredentials: credentialsRenew(kc)
        ? undefined
        : credentialHeadersOf(httpsOptions),
      credentials: async () => credentialHeadersOf(await httpsOptionsOf(kc)),
    };
    if (!server.startsWith('https:') || kc.getCurrentCluster()?.proxyUrl)
      return { ...where, transport: await undiciPool(kc, server) };
    return {
      ...where,
      transport: http2Transport({
        origin: url.origin,
        tls: tlsSettingsOf(httpsOptions),
        http1: () => undiciPool(kc, server),
      }),
    };
  })();
  const entry: TargetEntry = { making };
  byKey.set(key, entry);
  making.then(
    made => {
      entry.made = made;
    },
    // A target that could not be made is made again by the next request.
    () => byKey!.delete(key),
  );
  return entry;
}
