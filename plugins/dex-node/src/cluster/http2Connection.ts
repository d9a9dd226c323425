import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

/** One request on a connection to a kube-apiserver: the path holds the query. */
export interface ExchangeRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** An answer: its status, headers, and its body whole or as chunks as they arrive (a watch). */
export interface Exchange {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: { bytes(): Promise<Buffer> } & AsyncIterable<Buffer>;
}

/** What sends requests to one apiserver: this module's HTTP/2 connection or an undici pool. */
export interface Transport {
  request(request: ExchangeRequest): Promise<Exchange>;
  close(): Promise<void>;
}

/** The TLS settings of the kubeconfig's cluster and user (client-node reads them). */
export type TlsSettings = Pick<
  tls.ConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'rejectUnauthorized'
  | 'servername'
>;

/** A TCP + TLS handshake that takes longer fails (as undici's connect timeout does). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A connection with no request for this long is closed (a later request opens a new one). */
const IDLE_CLOSE_MS = 30_000;
/** After a request timed out: a connection that does not answer a PING within this is dropped. */
const PING_TIMEOUT_MS = 5_000;
/** Per-stream receive window: a large list arrives without waiting for window updates. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Errors of a request the server never saw: sent again once, on a new connection. */
const NOT_SENT = new Set([
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_OUT_OF_STREAMS',
]);

/**
 * A failure of the connection, shaped as undici's (a `code` describeKubeError reads): node:http2
 * reports a reset connection as a cancelled stream, with the socket's error as its cause.
 */
function connectionError(e: unknown, origin: string): Error {
  const err = e as Error & { code?: string; cause?: unknown };
  if (err?.code === 'ERR_HTTP2_STREAM_CANCEL' && err.cause instanceof Error)
    return err.cause;
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_HTTP2'))
    return Object.assign(
      new Error(`the connection to ${origin} ended: ${err.message}`, {
        cause: err,
      }),
      { code: 'ECONNRESET' },
    );
  return err;
}

function closedEarly(origin: string, rstCode: number): Error {
  return Object.assign(
    new Error(
      `the connection to ${origin} closed before the answer ended (HTTP/2 code ${rstCode})`,
    ),
    { code: 'ECONNRESET' },
  );
}

/**
 * Opens the TLS connection, offering HTTP/2 and HTTP/1.1: an apiserver behind something that
 * speaks only HTTP/1.1 gets `http1` instead (undici's pool).
 */
function connect(
  origin: string,
  settings: TlsSettings,
): Promise<http2.ClientHttp2Session | 'http1'> {
  const url = new URL(origin);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...settings,
      host,
      port: Number(url.port || 443),
      // As https does: the host name for SNI and the certificate check (an IP is checked as such).
      servername: settings.servername ?? (net.isIP(host) ? undefined : host),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
      socket.destroy(
        Object.assign(
          new Error(
            `connecting to ${origin} took more than ${CONNECT_TIMEOUT_MS} ms`,
          ),
          { code: 'ETIMEDOUT' },
        ),
      ),
    );
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      socket.off('error', reject);
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        resolve('http1');
        return;
      }
      socket.setKeepAlive(true, 30_000);
      const session = http2.connect(origin, {
        createConnection: () => socket,
        settings: { initialWindowSize: STREAM_WINDOW_BYTES },
      });
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      resolve(session);
    });
  });
}

/** The answer's body: bytes() or chunks; a reset or cancelled stream rejects either. */
function bodyOf(
  stream: http2.ClientHttp2Stream,
  failure: () => Error | undefined,
): Exchange['body'] {
  return {
    bytes: () =>
      new Promise<Buffer>((resolve, reject) => {
        const early = failure();
        if (early) {
          reject(early);
          return;
        }
        const chunks: Buffer[] = [];
        let ended = false;
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', () => {
          ended = true;
          // Most answers come in one chunk: no copy then.
          resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        });
        stream.once('close', () => {
          if (!ended) reject(failure() ?? new Error('stream closed'));
        });
      }),
    async *[Symbol.asyncIterator]() {
      const early = failure();
      if (early) throw early;
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } catch (e) {
        throw failure() ?? e;
      }
      const late = failure();
      if (late) throw late;
    },
  };
}

/** Requests the server never saw (refused by GOAWAY, or a connection already closing). */
const unsent = new WeakSet<Error>();

/** One HTTP/2 connection: its streams in flight keep it referenced; idle, it closes. */
class Connection {
  private active = 0;
  private idle: NodeJS.Timeout | undefined;
  private pinging = false;

  constructor(
    readonly session: http2.ClientHttp2Session,
    private readonly origin: string,
    /** Forgets this connection: the next request opens a new one. */
    readonly dropped: () => void,
  ) {
    session.on('error', dropped);
    session.on('goaway', dropped);
    session.on('close', dropped);
    session.unref();
  }

  /** After a timeout: a connection that does not answer a PING is dropped (and closed). */
  private check() {
    const s = this.session;
    if (this.pinging || s.destroyed) return;
    this.pinging = true;
    const timer = setTimeout(() => {
      this.dropped();
      s.destroy();
    }, PING_TIMEOUT_MS);
    timer.unref();
    const sent = s.ping(err => {
      this.pinging = false;
      clearTimeout(timer);
      if (err) {
        this.dropped();
        s.destroy();
      }
    });
    if (!sent) {
      this.pinging = false;
      clearTimeout(timer);
    }
  }

  private started() {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.active++ === 0) this.session.ref();
  }

  private finished() {
    if (--this.active > 0) return;
    this.session.unref();
    this.idle = setTimeout(() => {
      this.dropped();
      this.session.close();
    }, IDLE_CLOSE_MS);
    this.idle.unref();
  }

  close() {
    if (this.idle) clearTimeout(this.idle);
    this.session.close();
  }

  exchange(request: ExchangeRequest): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const { signal } = request;
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session.request(
          {
            ':method': request.method,
            ':path': request.path,
            ...request.headers,
          },
          { endStream: request.body === undefined },
        );
      } catch (e) {
        if (NOT_SENT.has((e as { code?: string }).code ?? ''))
          unsent.add(e as Error);
        reject(e);
        return;
      }
      this.started();
      let failed: Error | undefined;
      let answered = false;
      const onAbort = () => {
        failed = signal!.reason;
        if (!answered && (signal!.reason as Error)?.name === 'TimeoutError')
          this.check();
        stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('error', e => {
        failed ??= connectionError(e, this.origin);
      });
      stream.once('response', headers => {
        answered = true;
        resolve({
          statusCode: Number(headers[':status']),
          headers,
          body: bodyOf(stream, () => failed),
        });
      });
      stream.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        this.finished();
        if (!stream.readableEnded)
          failed ??= closedEarly(this.origin, stream.rstCode ?? 0);
        if (answered) return;
        if (
          stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM &&
          !signal?.aborted
        )
          unsent.add(failed!);
        reject(failed);
      });
      if (request.body !== undefined) stream.end(request.body);
    });
  }
}

/**
 * A kube-apiserver over one HTTP/2 connection (node:http2, as the bench's floor and kubectl do):
 * every concurrent request is a stream of it. Beyond node:http2 and the JSON parse, undici's HTTP/2
 * client added about three times this one's CPU to an unchanged re-run's 28 reads at once. The
 * connection is opened on the first request, referenced only while requests run (it never keeps
 * a process alive), closed after IDLE_CLOSE_MS without requests, replaced when the server ends it
 * (GOAWAY, reset), and checked with a PING when a request times out, so a connection that went
 * silent is not reused. An apiserver that does not offer HTTP/2 gets `http1()`'s transport.
 */
export function http2Transport(options: {
  origin: string;
  tls: TlsSettings;
  http1: () => Promise<Transport | undefined>;
}): Transport {
  const { origin } = options;
  let current: Promise<Connection | 'http1'> | undefined;
  /** `current` once it is open: a request on it needs no wait. */
  let open: Connection | undefined;
  let http1: Promise<Transport | undefined> | undefined;

  const connection = (): Promise<Connection | 'http1'> => {
    if (!current) {
      const opening: Promise<Connection | 'http1'> = connect(
        origin,
        options.tls,
      ).then(s => {
        if (s === 'http1') return s;
        const c = new Connection(s, origin, () => {
          if (current === opening) current = undefined;
          if (open === c) open = undefined;
        });
        if (current === opening) open = c;
        return c;
      });
      current = opening;
      // A failed connect is tried again by the next request.
      opening.catch(() => {
        if (current === opening) current = undefined;
      });
    }
    return current;
  };

  return {
    async request(request) {
      for (let attempt = 1; ; attempt++) {
        request.signal?.throwIfAborted();
        const c = open ?? (await abortable(connection(), request.signal));
        if (c === 'http1') {
          http1 ??= options.http1();
          const fallback = await http1;
          if (!fallback)
            throw new Error(`${origin} offers neither HTTP/2 nor a pool`);
          return fallback.request(request);
        }
        try {
          return await c.exchange(request);
        } catch (e) {
          if (attempt === 1 && unsent.has(e as Error)) {
            c.dropped();
            continue;
          }
          throw connectionError(e, origin);
        }
      }
    },
    async close() {
      const c = await current?.catch(() => undefined);
      current = undefined;
      open = undefined;
      if (c && c !== 'http1') c.close();
      await (await http1)?.close();
    },
  };
}

/** Waits for `p`, or rejects with the signal's reason when it aborts first. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      v => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      e => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
