export { DexPlan } from './DexPlan';
export type { DexPlanValue } from './DexPlan';
