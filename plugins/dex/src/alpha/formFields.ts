import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/**
 * Scaffolder form field `DexVersionPicker`.
 *
 * @alpha
 */
export const dexVersionPickerFormFieldExtension = FormFieldBlueprint.make({
  name: 'dex-version-picker',
  params: {
    field: () => import('./fields').then(m => m.dexVersionPickerFormField),
  },
});

/**
 * Scaffolder form field `DexClusterPicker`.
 *
 * @alpha
 */
export const dexClusterPickerFormFieldExtension = FormFieldBlueprint.make({
  name: 'dex-cluster-picker',
  params: {
    field: () => import('./fields').then(m => m.dexClusterPickerFormField),
  },
});

/**
 * Scaffolder form field `DexIngressClassPicker`.
 *
 * @alpha
 */
export const dexIngressClassPickerFormFieldExtension = FormFieldBlueprint.make({
  name: 'dex-ingress-class-picker',
  params: {
    field: () => import('./fields').then(m => m.dexIngressClassPickerFormField),
  },
});

/**
 * Scaffolder form field `DexPlan`: the dry-run plan of the form.
 *
 * @alpha
 */
export const dexPlanFormFieldExtension = FormFieldBlueprint.make({
  name: 'dex-plan',
  params: {
    field: () => import('./fields').then(m => m.dexPlanFormField),
  },
});
