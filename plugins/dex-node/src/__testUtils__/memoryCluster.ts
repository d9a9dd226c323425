import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterClient, ObjectRef } from '../cluster/client';

/** An HTTP-like error, as client-node throws them. */
function httpError(code: number, message: string) {
  return Object.assign(new Error(message), { code, body: { message } });
}

const keyOf = (r: ObjectRef) => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

/**
 * A ClusterClient over a map, for unit tests of what apply and provision decide. It keeps
 * resourceVersions and honours them as preconditions, as the apiserver does, and records writes.
 * Not a Kubernetes: no defaults, no validation (integration tests use the real one).
 */
export function memoryCluster(initial: KubernetesObject[] = []) {
  const objects = new Map<string, KubernetesObject>();
  let revision = 0;
  const writes: { verb: 'create' | 'apply'; key: string; dryRun: boolean }[] =
    [];
  const store = (o: KubernetesObject) => {
    revision += 1;
    const stored = {
      ...o,
      metadata: { ...o.metadata, resourceVersion: String(revision) },
    };
    objects.set(
      keyOf({
        apiVersion: o.apiVersion!,
        kind: o.kind!,
        name: o.metadata!.name!,
        namespace: o.metadata?.namespace,
      }),
      stored,
    );
    return stored;
  };
  initial.forEach(store);
  const refOf = (o: KubernetesObject): ObjectRef => ({
    apiVersion: o.apiVersion!,
    kind: o.kind!,
    name: o.metadata!.name!,
    namespace: o.metadata?.namespace,
  });
  const client: ClusterClient = {
    server: 'https://memory.test',
    async read(ref, options = {}) {
      options.signal?.throwIfAborted();
      return objects.get(keyOf(ref));
    },
    async list(kind, labelSelector, options = {}) {
      options.signal?.throwIfAborted();
      // key=value and !key (absent), the forms the pack uses.
      const wanted = labelSelector
        .split(',')
        .filter(Boolean)
        .map(p => p.split('='));
      const matches = (labels: Record<string, string>, [k, v]: string[]) =>
        k.startsWith('!') ? !(k.slice(1) in labels) : labels[k] === v;
      return [...objects.values()].filter(
        o =>
          o.kind === kind.kind &&
          (!kind.namespace || o.metadata?.namespace === kind.namespace) &&
          wanted.every(w => matches(o.metadata?.labels ?? {}, w)),
      );
    },
    async create(o, options = {}) {
      options.signal?.throwIfAborted();
      const key = keyOf(refOf(o));
      writes.push({ verb: 'create', key, dryRun: false });
      if (objects.has(key)) throw httpError(409, `${key} already exists`);
      return store(o);
    },
    async apply(o, options = {}) {
      options.signal?.throwIfAborted();
      const key = keyOf(refOf(o));
      writes.push({ verb: 'apply', key, dryRun: Boolean(options.dryRun) });
      const current = objects.get(key);
      const precondition = o.metadata?.resourceVersion;
      if (precondition && current?.metadata?.resourceVersion !== precondition)
        throw httpError(409, `${key} was modified`);
      if (options.dryRun) return o;
      return store({
        ...current,
        ...o,
        metadata: { ...current?.metadata, ...o.metadata },
      });
    },
    async patch(ref) {
      throw httpError(
        422,
        `${keyOf(ref)}: JSON Patch is not implemented in the memory cluster`,
      );
    },
    async apiGroup() {
      return undefined;
    },
    async version() {
      return 'v1.35.4';
    },
  };
  return { client, objects, writes };
}
