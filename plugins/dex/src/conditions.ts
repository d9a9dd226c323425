import type { Entity } from '@backstage/catalog-model';
import {
  ANNOTATION_DEX_CLUSTERS,
  ANNOTATION_KUBERNETES_ID,
} from '@backstage-dex/plugin-dex-common';

/**
 * True when the entity says where its Dex objects are: the
 * `backstage.io/kubernetes-id` or `dex.backstage.io/clusters` annotation.
 * For `EntitySwitch.Case if={isDexAvailable}` and the new frontend system's card filter.
 *
 * @public
 */
export function isDexAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return Boolean(
    annotations[ANNOTATION_KUBERNETES_ID] ||
    annotations[ANNOTATION_DEX_CLUSTERS],
  );
}
