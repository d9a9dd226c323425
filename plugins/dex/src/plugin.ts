import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { createScaffolderFieldExtension } from '@backstage/plugin-scaffolder-react';
import { DexClient, dexApiRef } from './api';
import { DexClusterPicker } from './components/DexClusterPicker';
import { DexIngressClassPicker } from './components/DexIngressClassPicker';
import { DexPlan } from './components/DexPlan';
import {
  DexVersionPicker,
  dexVersionPickerValidation,
} from './components/DexVersionPicker';

export { isDexAvailable } from './conditions';

/**
 * The Dex frontend plugin (legacy frontend system).
 *
 * @public
 */
export const dexPlugin = createPlugin({
  id: 'dex',
  apis: [
    createApiFactory({
      api: dexApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new DexClient({ discoveryApi, fetchApi }),
    }),
  ],
});

/**
 * Entity card: the Dex installations of the current entity.
 *
 * @public
 */
export const EntityDexCard = dexPlugin.provide(
  createComponentExtension({
    name: 'EntityDexCard',
    component: {
      lazy: () =>
        import('./components/EntityDexCard').then(m => m.EntityDexCard),
    },
  }),
);

/**
 * Scaffolder field extension `DexVersionPicker` (`ui:field: DexVersionPicker`).
 *
 * @public
 */
export const DexVersionPickerFieldExtension = dexPlugin.provide(
  createScaffolderFieldExtension({
    name: 'DexVersionPicker',
    component: DexVersionPicker,
    validation: dexVersionPickerValidation,
  }),
);

/**
 * Scaffolder field extension `DexClusterPicker` (`ui:field: DexClusterPicker`).
 *
 * @public
 */
export const DexClusterPickerFieldExtension = dexPlugin.provide(
  createScaffolderFieldExtension({
    name: 'DexClusterPicker',
    component: DexClusterPicker,
  }),
);

/**
 * Scaffolder field extension `DexIngressClassPicker` (`ui:field: DexIngressClassPicker`).
 *
 * @public
 */
export const DexIngressClassPickerFieldExtension = dexPlugin.provide(
  createScaffolderFieldExtension({
    name: 'DexIngressClassPicker',
    component: DexIngressClassPicker,
  }),
);

/**
 * Scaffolder field extension `DexPlan` (`ui:field: DexPlan`): the dry-run plan of the form.
 *
 * @public
 */
export const DexPlanFieldExtension = dexPlugin.provide(
  createScaffolderFieldExtension({
    name: 'DexPlan',
    component: DexPlan,
  }),
);
