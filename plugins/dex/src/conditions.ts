import type { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_DEX_CLUSTERS,
  ANNOTATION_KUBERNETES_ID,
} from '@backstage-dex/plugin-dex-common';

/**
 * Kinds the "Add Dex auth" template installs for (its Owner picker offers them): the card shows
 * on their pages without any annotation, with an "Add Dex auth" button while they have none.
 */
const DEX_OWNER_KINDS = ['component', 'resource', 'system'];

/**
 * True where the Dex card belongs: on Components, Resources and Systems (the kinds the "Add Dex
 * auth" template installs for; the backend finds their installations by the full entity ref the
 * action stamps), and on any entity with the `backstage.io/kubernetes-id` or
 * `dex.backstage.io/clusters` annotation. For `EntitySwitch.Case if={isDexAvailable}` and the new
 * frontend system's card filter.
 *
 * @public
 */
export function isDexAvailable(entity: Entity): boolean {
  if (DEX_OWNER_KINDS.includes(entity.kind.toLocaleLowerCase('en-US'))) {
    return true;
  }
  const annotations = entity.metadata.annotations ?? {};
  return Boolean(
    annotations[ANNOTATION_KUBERNETES_ID] ||
    annotations[ANNOTATION_DEX_CLUSTERS],
  );
}
