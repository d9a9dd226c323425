import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { isDexAvailable } from '../conditions';

/**
 * The Dex entity card, on Components, Resources and Systems (the kinds the "Add Dex auth"
 * template installs for) and on entities with the backstage.io/kubernetes-id or
 * dex.backstage.io/clusters annotation.
 *
 * @alpha
 */
export const dexEntityCard = EntityCardBlueprint.make({
  params: {
    filter: isDexAvailable,
    loader: () =>
      import('../components/EntityDexCard').then(m => <m.EntityDexCard />),
  },
});
