import type * as ClientNode from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';

export type K8s = typeof ClientNode;

let loaded: Promise<K8s> | undefined;

/**
 * @kubernetes/client-node 2.x is ESM-only; a dynamic import loads it from this CommonJS package
 * (and under jest, which cannot require() ES modules).
 */
export function clientNode(): Promise<K8s> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
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
    api = k8s.KubernetesObjectApi.makeApiClient(kc);
    objectApis.set(kc, api);
  }
  return api;
}
