import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { DexClusterPicker } from '../components/DexClusterPicker';
import {
  DexVersionPicker,
  dexVersionPickerValidation,
} from '../components/DexVersionPicker';

export const dexVersionPickerFormField = createFormField({
  name: 'DexVersionPicker',
  component: DexVersionPicker,
  validation: dexVersionPickerValidation,
});

export const dexClusterPickerFormField = createFormField({
  name: 'DexClusterPicker',
  component: DexClusterPicker,
});
