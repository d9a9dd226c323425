import { AsyncLocalStorage } from 'node:async_hooks';
import type * as ClientNode from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  KubeConfig,
  KubernetesObjectApi,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';

export type K8s = typeof ClientNode;

let loaded: Promise<K8s> | undefined;

/**
 * @kubernetes/client-node 2.x is ESM-only; a dynamic import loads it from this CommonJS package
 * (and under jest, which cannot require() ES modules).
 */
export function clientNode(): Promise<K8s> {
  loaded ??= Promise.all([
    import('@kubernetes/client-node'),
    import('@kubernetes/client-node/dist/serializer.js'),
  ]).then(([k8s, serializer]) => {
    sendAsWritten(serializer.ObjectSerializer);
    return k8s;
  });
  return loaded;
}

/**
 * Kinds whose JSON client-node would rewrite. It maps built-in kinds through its generated
 * models, which name `x-kubernetes-preserve-unknown-fields` `xKubernetesPreserveUnknownFields`:
 * a plain CRD (as the pack renders it) loses those keys on the way out, and one read back has
 * the model's names. Registered as they are, they go and come as the apiserver's JSON.
 */
const AS_WRITTEN = [
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
  },
];

function sendAsWritten(serializer: {
  registerModel(
    gvk: { group: string; version: string; kind: string },
    model: { serialize(d: unknown): unknown; deserialize(d: unknown): unknown },
  ): void;
}) {
  for (const gvk of AS_WRITTEN) {
    try {
      serializer.registerModel(gvk, { serialize: d => d, deserialize: d => d });
    } catch {
      // Already registered (another copy of this module in the same process).
    }
  }
}

const objectApis = new WeakMap<KubeConfig, KubernetesObjectApi>();

/**
 * One KubernetesObjectApi per KubeConfig: it caches API discovery (kind -> resource), which
 * otherwise costs a round trip per API group on every call.
 */
export async function objectApi(kc: KubeConfig): Promise<KubernetesObjectApi> {
  const k8s = await clientNode();
  let api = objectApis.get(kc);
  if (!api) {
    shareConnections(kc);
    api = k8s.KubernetesObjectApi.makeApiClient(kc);
    objectApis.set(kc, api);
  }
  return api;
}

type Dispatcher = { close(): Promise<void> };
type AuthContext = {
  getDispatcher(): Dispatcher | undefined;
  setDispatcher(d: Dispatcher): void;
  setSignal(signal: AbortSignal): void;
};
const shared = new WeakSet<KubeConfig>();

/** Time bound of every request through a KubeConfig, and a signal that cancels them all. */
export interface RequestBounds {
  timeoutMs: number;
  signal?: AbortSignal;
}

const bounds = new WeakMap<KubeConfig, RequestBounds>();

/** The signal of the call in progress (see withCallSignal), seen where requests are sent. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` so that every request it makes through a KubeConfig passed to shareConnections is
 * cancelled when `signal` aborts, on top of that KubeConfig's bounds. Per call, unlike
 * boundRequests: calls with different signals may share one KubeConfig at the same time.
 */
export function withCallSignal<T>(
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return signal ? callSignal.run(signal, fn) : fn();
}

/**
 * Bounds every request made through `kc`: each one is aborted after `timeoutMs` (an apiserver
 * that accepts the connection and never answers would otherwise hold a run forever), and all at
 * once when `signal` aborts (the scaffolder task was cancelled).
 */
export function boundRequests(
  kc: KubeConfig,
  requestBounds: RequestBounds,
): KubeConfig {
  shareConnections(kc);
  bounds.set(kc, requestBounds);
  return kc;
}

/**
 * Makes every request through `kc` share one connection pool. client-node 2.0 builds a new undici
 * Agent for every request, i.e. a new TLS connection each time that is never reused: a provision
 * opened ~40 of them, and 20 provisions at once had the apiserver reset connections (ECONNRESET).
 * Idempotent; the pool is keyed by context, server and user, so switching context gets its own.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  if (shared.has(kc)) return kc;
  shared.add(kc);
  const original = kc.applySecurityAuthentication.bind(kc);
  const pools = new Map<string, Dispatcher>();
  kc.applySecurityAuthentication = async (
    context: Parameters<KubeConfig['applySecurityAuthentication']>[0],
  ) => {
    await original(context);
    const ctx = context as unknown as AuthContext;
    const bound = bounds.get(kc);
    const signals = [
      bound && AbortSignal.timeout(bound.timeoutMs),
      bound?.signal,
      callSignal.getStore(),
    ].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length > 0)
      ctx.setSignal(
        signals.length === 1 ? signals[0] : AbortSignal.any(signals),
      );
    const fresh = ctx.getDispatcher();
    if (!fresh) return;
    const key = JSON.stringify([
      kc.getCurrentContext(),
      kc.getCurrentCluster()?.server,
      kc.getCurrentUser()?.name,
    ]);
    const pool = pools.get(key);
    if (!pool) {
      pools.set(key, fresh);
    } else if (pool !== fresh) {
      ctx.setDispatcher(pool);
      // Never used: it has no connections to drain.
      fresh.close().catch(() => {});
    }
  };
  return kc;
}

/** Per-call options that attach an AbortSignal to the request, so a timed-out call is cancelled. */
export function withSignal(
  k8s: K8s,
  signal: AbortSignal,
): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new k8s.Observable(Promise.resolve(ctx));
        },
        post: (ctx: ResponseContext) =>
          new k8s.Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
