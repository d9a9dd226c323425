import type * as ClientNode from '@kubernetes/client-node';

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
