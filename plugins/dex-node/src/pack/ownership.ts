import type { KubernetesObject } from '@kubernetes/client-node';
import {
  ANNOTATION_OWNER_ENTITY_REF,
  ANNOTATION_OWNER_INSTANCE,
  FIELD_MANAGER,
  LABEL_INSTANCE,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from '@backstage-dex/plugin-dex-common';
import type { KubeObject } from './render';

/** Whom a pack's objects belong to: a catalog entity's installation, named by its instance. */
export interface PackOwner {
  /** The full entity ref (kind:namespace/name); absent when provisioned outside Backstage (CLI). */
  entityRef?: string;
  instance: string;
  /** The backstage.io/kubernetes-id label value: identifies objects stamped before the annotations existed. */
  kubernetesId: string;
}

/**
 * Objects every installation on a cluster shares (Dex's storage CRDs): they belong to the pack as
 * a whole, not to one entity or instance, so they are not stamped and any installation's run may
 * keep them as the pack renders them. Never removed with one installation.
 */
export function isSharedByInstallations(o: {
  kind?: string;
  apiVersion?: string;
}): boolean {
  return (
    o.kind === 'CustomResourceDefinition' &&
    (o.apiVersion ?? '').startsWith('apiextensions.k8s.io/')
  );
}

/** The objects with the owner's annotations added (a copy; the rendered objects stay as they are). */
export function stampOwner(
  objects: KubeObject[],
  owner: PackOwner,
): KubeObject[] {
  return objects.map(o =>
    isSharedByInstallations(o)
      ? o
      : {
          ...o,
          metadata: {
            ...o.metadata,
            annotations: {
              ...o.metadata.annotations,
              ...(owner.entityRef
                ? { [ANNOTATION_OWNER_ENTITY_REF]: owner.entityRef }
                : {}),
              [ANNOTATION_OWNER_INSTANCE]: owner.instance,
            },
          },
        },
  );
}

/**
 * Who owns an existing object, from the pack's point of view: `ours` (this entity's instance),
 * `installation` (another entity's or instance's pack: `by` names it) or `foreign` (made outside
 * the pack: `by` names its field managers).
 */
export type Ownership =
  { kind: 'ours' } | { kind: 'installation' | 'foreign'; by: string };

export function ownershipOf(
  existing: KubernetesObject,
  owner: PackOwner,
): Ownership {
  const annotations = existing.metadata?.annotations ?? {};
  const labels = existing.metadata?.labels ?? {};
  const managers = [
    ...new Set((existing.metadata?.managedFields ?? []).map(f => f.manager)),
  ];
  const byPack =
    managers.includes(FIELD_MANAGER) || labels[LABEL_MANAGED_BY] === MANAGED_BY;
  if (isSharedByInstallations(existing)) {
    return byPack
      ? { kind: 'ours' }
      : {
          kind: 'foreign',
          by: `managed by ${managers.join(', ') || 'unknown'}`,
        };
  }
  const stampedRef = annotations[ANNOTATION_OWNER_ENTITY_REF];
  const stampedInstance = annotations[ANNOTATION_OWNER_INSTANCE];
  if (stampedRef || stampedInstance) {
    // Made outside Backstage (no entity) for the same kubernetes-id: the entity adopts it.
    const sameEntity =
      stampedRef === owner.entityRef ||
      (!stampedRef && labels[LABEL_KUBERNETES_ID] === owner.kubernetesId);
    if (sameEntity && stampedInstance === owner.instance)
      return { kind: 'ours' };
    return {
      kind: 'installation',
      by: `${stampedRef ?? 'no entity'}, instance "${stampedInstance ?? '?'}"`,
    };
  }
  if (byPack) {
    // Stamped before the ownership annotations existed: the labels say whose it is.
    if (
      labels[LABEL_INSTANCE] === owner.instance &&
      labels[LABEL_KUBERNETES_ID] === owner.kubernetesId
    )
      return { kind: 'ours' };
    return {
      kind: 'installation',
      by: `kubernetes-id "${labels[LABEL_KUBERNETES_ID] ?? '?'}", instance "${labels[LABEL_INSTANCE] ?? '?'}"`,
    };
  }
  return {
    kind: 'foreign',
    by: `managed by ${managers.join(', ') || 'unknown'}`,
  };
}
