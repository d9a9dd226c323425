import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { DexClusterPicker } from '../components/DexClusterPicker';
import { DexIngressClassPicker } from '../components/DexIngressClassPicker';
import { DexPlan } from '../components/DexPlan';
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

export const dexIngressClassPickerFormField = createFormField({
  name: 'DexIngressClassPicker',
  component: DexIngressClassPicker,
});

export const dexPlanFormField = createFormField({
  name: 'DexPlan',
  component: DexPlan,
});
