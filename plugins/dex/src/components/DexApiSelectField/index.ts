export { DexApiSelectField } from './DexApiSelectField';
export type {
  DexApiChoices,
  DexApiSelectFieldProps,
} from './DexApiSelectField';
