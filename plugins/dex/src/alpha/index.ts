/**
 * The Dex plugin for Backstage's new frontend system.
 *
 * @packageDocumentation
 */
import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { dexApi } from './apis';
import { dexEntityCard } from './entityCard';
import {
  dexClusterPickerFormFieldExtension,
  dexIngressClassPickerFormFieldExtension,
  dexPlanFormFieldExtension,
  dexVersionPickerFormFieldExtension,
} from './formFields';

/**
 * The Dex plugin: `import dexPlugin from '@backstage-dex/plugin-dex/alpha'`.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'dex',
  extensions: [
    dexApi,
    dexEntityCard,
    dexVersionPickerFormFieldExtension,
    dexClusterPickerFormFieldExtension,
    dexIngressClassPickerFormFieldExtension,
    dexPlanFormFieldExtension,
  ],
});

export { dexApi } from './apis';
export { dexEntityCard } from './entityCard';
export {
  dexClusterPickerFormFieldExtension,
  dexIngressClassPickerFormFieldExtension,
  dexPlanFormFieldExtension,
  dexVersionPickerFormFieldExtension,
} from './formFields';
export { isDexAvailable } from '../conditions';
export { dexApiRef } from '../api';
export type { DexApi } from '../api';
