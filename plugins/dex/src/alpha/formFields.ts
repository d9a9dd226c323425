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
