/**
 * Frontend plugin for backstage-dex: the EntityDexCard (Dex endpoints, versions,
 * Ingress and health per entity), the DexApi client, and scaffolder field
 * extensions for the "Add Dex auth" template.
 *
 * @packageDocumentation
 */
export {
  dexPlugin,
  EntityDexCard,
  isDexAvailable,
  DexVersionPickerFieldExtension,
  DexClusterPickerFieldExtension,
  DexIngressClassPickerFieldExtension,
  DexPlanFieldExtension,
} from './plugin';
export { dexApiRef, DexClient } from './api';
export type { DexApi } from './api';
export type { DexVersionPickerUiOptions } from './components/DexVersionPicker';
export type { DexPlanValue } from './components/DexPlan';
export type { EntityDexCardProps } from './components/EntityDexCard';
