export { dexApiRef } from './DexApi';
export type { DexApi } from './DexApi';
export { DexClient } from './DexClient';
