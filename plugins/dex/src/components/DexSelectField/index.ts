export { DexSelectField } from './DexSelectField';
export type { DexSelectFieldProps } from './DexSelectField';
