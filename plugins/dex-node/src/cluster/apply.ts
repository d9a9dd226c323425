import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '@backstage/errors';
import type {
  KubeConfig,
  KubernetesObject,
  V1Deployment,
} from '@kubernetes/client-node';
import {
  PackOwner,
  isSharedByInstallations,
  ownershipOf,
} from '../pack/ownership';
import { KubeObject } from '../pack/render';
import { ClusterClient, asClusterClient } from './client';
import { waitForCustomResources } from './customResources';
import { changedFields } from './diff';
import { describeKubeError, isTimeout, markTimeout } from './errors';

export type ObjectAction = 'create' | 'update' | 'unchanged' | 'skip';

export interface ObjectResult {
  kind: string;
  name: string;
  namespace?: string;
  action: ObjectAction;
  /** For updates: the fields that differ (dotted paths). Never values. */
  fields?: string[];
  /** Why an object was skipped. */
  reason?: string;
}

export interface ApplyResult {
  objects: ObjectResult[];
  /** Write requests sent to the apiserver (0 when nothing changed; creating a guarded object takes 2). */
  writes: number;
  dryRun: boolean;
}

export function objectKey(o: {
  kind: string;
  metadata?: { name?: string; namespace?: string };
}) {
  return `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

/**
 * Reads the objects (by kind and name) all at once, keyed by objectKey: each answer is the object
 * as it is now (shared: read it, never change it), or undefined when there is none; a failure
 * says which object it was reading.
 */
export function readEach(
  target: KubeConfig | ClusterClient,
  objects: KubeObject[],
): Map<string, Promise<KubernetesObject | undefined>> {
  const cluster = asClusterClient(target);
  return new Map(
    objects.map(o => [
      objectKey(o),
      cluster
        .read(
          {
            apiVersion: o.apiVersion,
            kind: o.kind,
            name: o.metadata.name,
            namespace: o.metadata.namespace,
          },
          // Only compared (diff, ownership, material): an unchanged answer is parsed once.
          { shared: true },
        )
        .catch(e => {
          throw describeKubeError(e, `reading ${objectKey(o)}`);
        }),
    ]),
  );
}

/** The objects of readEach that exist; rejects with the first failure. */
export async function existingOf(
  reads: Map<string, Promise<KubernetesObject | undefined>>,
): Promise<Map<string, KubernetesObject>> {
  const found = new Map<string, KubernetesObject>();
  await Promise.all(
    [...reads].map(async ([key, read]) => {
      const existing = await read;
      if (existing) found.set(key, existing);
    }),
  );
  return found;
}

/** Reads the objects (by kind and name) as they are now; missing ones are absent from the map. */
export function readExisting(
  target: KubeConfig | ClusterClient,
  objects: KubeObject[],
): Promise<Map<string, KubernetesObject>> {
  return existingOf(readEach(target, objects));
}

/**
 * Kinds the pack renders without any of its material (certificates, keys, client secrets, config
 * checksums): identical for every run of a spec, so they need not wait for the guarded Secrets.
 * Not the bindings: an installer without the `bind` verb may bind a role only once the apiserver
 * can read it (to check the installer holds its rights), so they get a round of their own after
 * the roles and before the Deployments whose pods use them.
 */
const WITHOUT_MATERIAL = new Set([
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'Service',
  'Ingress',
]);
const BINDINGS = new Set(['RoleBinding', 'ClusterRoleBinding']);

/** Errors that mean "another run changed the guarded objects since they were read": read again and retry. */
const concurrentChanges = new WeakSet<Error>();

export function isConcurrentChange(e: unknown): boolean {
  return e instanceof Error && concurrentChanges.has(e);
}

function concurrentChange(key: string): Error {
  const e = new ConflictError(
    `${key} was created or changed by another run at the same time; the certificates and client secrets must come from one run: run again to reuse them`,
  );
  concurrentChanges.add(e);
  return e;
}

function describeOwner(owner: PackOwner) {
  return `${owner.entityRef ?? `kubernetes-id "${owner.kubernetesId}"`}, instance "${owner.instance}"`;
}

export interface ApplyOptions {
  /** Whose objects these are (annotations); objects of another owner are refused unless `force`. */
  owner: PackOwner;
  /**
   * Keys (objectKey) of objects others derive from (the CA, certificates, client secrets). They are
   * written first and only if unchanged since `existing` was read: created only when still absent,
   * updated only at the resourceVersion read. Otherwise the apply stops with an error that
   * isConcurrentChange() recognises, before any object derived from them is written.
   */
  guarded?: string[];
  dryRun?: boolean;
  /** Take over objects of the same name made by someone else (another installation or outside the pack). */
  force?: boolean;
  /** Objects as they are now (from readExisting), to skip a second read. */
  existing?: Map<string, KubernetesObject>;
  log?: (message: string) => void;
  /** Stops waiting for new CRDs to serve (requests themselves are bounded by the KubeConfig). */
  signal?: AbortSignal;
  /**
   * Checks the objects to be created or updated, once they are known and before any is written
   * (also on a dry run): a throw stops the apply with nothing written.
   */
  checkWrites?: (objects: KubeObject[]) => void;
}

/**
 * Refuses (ConflictError, before anything is written) objects that exist and belong to someone
 * else: another installation, or made outside the pack. A Namespace is shared, so never refused.
 */
export function refuseForeign(
  objects: KubeObject[],
  existing: Map<string, KubernetesObject>,
  owner: PackOwner,
) {
  const foreign: string[] = [];
  for (const object of objects) {
    const current = existing.get(objectKey(object));
    if (
      !current ||
      object.kind === 'Namespace' ||
      isSharedByInstallations(object)
    )
      continue;
    const ownership = ownershipOf(current, owner);
    if (ownership.kind !== 'ours')
      foreign.push(
        `${objectKey(object)} (${ownership.kind === 'installation' ? `belongs to ${ownership.by}` : ownership.by})`,
      );
  }
  if (foreign.length) {
    throw new ConflictError(
      `These objects already exist and do not belong to this installation (${describeOwner(owner)}): ${foreign.join('; ')}. ` +
        'Nothing was applied. Choose another instance name or namespace, or set force: true to take them over (needs the dex.pack.takeover permission).',
    );
  }
}

/**
 * Server-side applies the objects under one field manager. Objects that already match are not
 * written. Objects of the same name that someone else made are refused (nothing is applied) unless
 * `force`. A pre-existing Namespace made by someone else is left as it is. Four concurrent rounds:
 * the Namespace (and cluster-scoped objects without material), the guarded objects with the
 * namespaced objects without material, the bindings, then the rest.
 */
export async function applyObjects(
  target: KubeConfig | ClusterClient,
  objects: KubeObject[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  const cluster = asClusterClient(target);
  const existing = options.existing ?? (await readExisting(cluster, objects));
  const log = options.log ?? (() => {});

  if (!options.force) refuseForeign(objects, existing, options.owner);
  const plan: { object: KubeObject; result: ObjectResult }[] = [];
  for (const object of objects) {
    const current = existing.get(objectKey(object));
    const base = {
      kind: object.kind,
      name: object.metadata.name,
      namespace: object.metadata.namespace,
    };
    if (!current) {
      plan.push({ object, result: { ...base, action: 'create' } });
      continue;
    }
    const ownership = ownershipOf(current, options.owner);
    // A namespace is shared: other installations and other tenants may live in it. Dex's CRDs made
    // by someone else (Dex itself, a Helm chart) serve the same resources.
    if (
      ownership.kind !== 'ours' &&
      (object.kind === 'Namespace' || isSharedByInstallations(object))
    ) {
      plan.push({
        object,
        result: {
          ...base,
          action: 'skip',
          reason:
            object.kind === 'Namespace'
              ? 'namespace exists and belongs to someone else; left as it is'
              : `exists, ${ownership.by}; left as it is`,
        },
      });
      continue;
    }
    const fields = changedFields(object, current);
    plan.push({
      object,
      result: fields.length
        ? { ...base, action: 'update', fields }
        : { ...base, action: 'unchanged' },
    });
  }
  options.checkWrites?.(
    plan
      .filter(p => p.result.action === 'create' || p.result.action === 'update')
      .map(p => p.object),
  );
  let writes = 0;
  const guarded = new Set(options.dryRun ? [] : (options.guarded ?? []));
  const apply = async ({ object, result }: (typeof plan)[number]) => {
    if (result.action === 'unchanged' || result.action === 'skip') return;
    writes += 1;
    const key = objectKey(object);
    let body = object as KubernetesObject;
    try {
      if (guarded.has(key)) {
        let resourceVersion = existing.get(key)?.metadata?.resourceVersion;
        if (!resourceVersion) {
          // Create-only: claim the name with an empty object (409 if another run got there first);
          // the content follows by server-side apply, so its fields stay owned by apply alone.
          const claim = {
            apiVersion: object.apiVersion,
            kind: object.kind,
            metadata: object.metadata,
            ...(object.type ? { type: object.type } : {}),
            // A kubernetes.io/tls Secret must have these keys; empty, they read as "no certificate yet".
            ...(object.type === 'kubernetes.io/tls'
              ? { data: { 'tls.crt': '', 'tls.key': '' } }
              : {}),
          };
          writes += 1;
          const created = await cluster.create(claim as KubernetesObject);
          resourceVersion = created.metadata?.resourceVersion;
        }
        // Server-side apply honours metadata.resourceVersion as a precondition (409 when changed).
        body = {
          ...object,
          metadata: { ...object.metadata, resourceVersion },
        } as KubernetesObject;
      }
      // force: our own objects may have drifted (someone edited them); applying restores them.
      await cluster.apply(body, { dryRun: options.dryRun });
    } catch (e) {
      if (guarded.has(key) && (e as { code?: number }).code === 409)
        throw concurrentChange(key);
      throw describeKubeError(e, `applying ${key}`);
    }
    log(
      `${options.dryRun ? 'would ' : ''}${result.action} ${objectKey(object)}${result.fields ? ` (${result.fields.join(', ')})` : ''}`,
    );
  };
  // First what needs no namespace and embeds no material: the Namespace, the shared CRDs (the
  // rest lives in the one and is served by the others), cluster-scoped objects free of material.
  const goesFirst = (o: KubeObject) =>
    o.kind === 'Namespace' ||
    isSharedByInstallations(o) ||
    (!o.metadata.namespace && WITHOUT_MATERIAL.has(o.kind));
  const unnamespaced = plan.filter(p => goesFirst(p.object));
  const rest = plan.filter(p => !goesFirst(p.object));
  const written: string[] = [];
  const failed: { key: string; error: unknown }[] = [];
  // Every write of a phase is let finish (none is left in flight), then the failures are reported
  // with what was and was not written, so the user knows the state a re-run starts from.
  const phase = async (items: typeof plan) => {
    await Promise.all(
      items.map(p =>
        apply(p).then(
          () =>
            p.result.action !== 'unchanged' &&
            p.result.action !== 'skip' &&
            written.push(objectKey(p.object)),
          error => failed.push({ key: objectKey(p.object), error }),
        ),
      ),
    );
    if (!failed.length) return;
    const concurrent = failed.find(f => isConcurrentChange(f.error));
    if (concurrent) throw concurrent.error;
    const notWritten = plan
      .filter(
        p => p.result.action !== 'unchanged' && p.result.action !== 'skip',
      )
      .map(p => objectKey(p.object))
      .filter(k => !written.includes(k));
    const first = failed[0].error as Error;
    // One line per distinct reason: an outage fails every write the same way.
    const reason = (f: (typeof failed)[number]) =>
      (f.error as Error).message.replace(`applying ${f.key}: `, '');
    const others = [...new Set(failed.slice(1).map(reason))].filter(
      r => r !== reason(failed[0]),
    );
    const more =
      failed.length > 1
        ? ` (${failed.length - 1} more failed${others.length ? `: ${others.join('; ')}` : ' the same way'})`
        : '';
    const e = new Error(
      `${first.message}${more}. ` +
        `Written: ${written.join(', ') || 'nothing'}. Not written: ${notWritten.join(', ')}. ` +
        'What was written is consistent (certificates and secrets first); run again to apply the rest.',
    );
    e.name = first.name;
    throw failed.some(f => isTimeout(f.error)) ? markTimeout(e) : e;
  };
  await phase(unnamespaced);
  const createdCrds = unnamespaced
    .filter(
      p => isSharedByInstallations(p.object) && p.result.action === 'create',
    )
    .map(p => p.object);
  if (createdCrds.length && !options.dryRun) {
    // A pod started before a new CRD serves its resources would exit: wait until they list.
    try {
      await waitForCustomResources(
        cluster,
        createdCrds,
        objects.find(o => o.kind === 'Namespace')?.metadata.name ??
          objects.find(o => o.metadata.namespace)?.metadata.namespace,
        { signal: options.signal },
      );
    } catch (e) {
      const err = e as Error;
      const notWritten = rest
        .filter(
          p => p.result.action !== 'unchanged' && p.result.action !== 'skip',
        )
        .map(p => objectKey(p.object));
      err.message = `${err.message}. Written: ${written.join(', ')}. Not written: ${notWritten.join(', ')}. Nothing uses the new CRDs yet; run again to apply the rest.`;
      throw err;
    }
    log(`${createdCrds.length} new CRDs serve their resources`);
  }
  if (
    options.dryRun &&
    unnamespaced.some(
      p => p.object.kind === 'Namespace' && p.result.action === 'create',
    )
  ) {
    // A dry run cannot create the namespace, so namespaced objects cannot be dry-run applied in it.
    for (const p of rest)
      log(`would ${p.result.action} ${objectKey(p.object)}`);
    writes += rest.filter(p => p.result.action !== 'unchanged').length;
  } else {
    // What others derive from goes first: a failure (or another run) in between leaves nothing
    // that refers to material which is not stored. Objects free of material need not wait for
    // it: they go beside it, so the last phase holds only what embeds the material.
    const early = (p: (typeof plan)[number]) =>
      guarded.has(objectKey(p.object)) || WITHOUT_MATERIAL.has(p.object.kind);
    const binding = (p: (typeof plan)[number]) => BINDINGS.has(p.object.kind);
    await phase(rest.filter(early));
    await phase(rest.filter(binding));
    await phase(rest.filter(p => !early(p) && !binding(p)));
  }
  return {
    objects: plan.map(p => p.result),
    writes,
    dryRun: Boolean(options.dryRun),
  };
}

/** Waits until every Deployment among the objects has rolled out, or the timeout passes. */
export async function waitForRollout(
  target: KubeConfig | ClusterClient,
  objects: KubeObject[],
  timeoutMs: number,
  log: (m: string) => void = () => {},
  signal?: AbortSignal,
): Promise<void> {
  const cluster = asClusterClient(target);
  const deployments = objects.filter(o => o.kind === 'Deployment');
  const deadline = Date.now() + timeoutMs;
  for (const d of deployments) {
    for (;;) {
      const cur = ((await cluster.read({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: d.metadata.name,
        namespace: d.metadata.namespace,
      })) ?? {}) as V1Deployment;
      const want = cur.spec?.replicas ?? 1;
      const s = cur.status ?? {};
      if (
        (s.observedGeneration ?? 0) >= (cur.metadata?.generation ?? 0) &&
        (s.updatedReplicas ?? 0) >= want &&
        (s.availableReplicas ?? 0) >= want
      ) {
        log(
          `Deployment ${d.metadata.namespace}/${d.metadata.name} rolled out (${s.availableReplicas}/${want})`,
        );
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Deployment ${d.metadata.namespace}/${d.metadata.name} did not roll out within ${Math.round(timeoutMs / 1000)} s ` +
            `(${s.availableReplicas ?? 0}/${want} available); check its pods' events`,
        );
      }
      await sleep(1000, undefined, { signal });
    }
  }
}
