export {
  DexVersionPicker,
  dexVersionPickerValidation,
} from './DexVersionPicker';
export type { DexVersionPickerUiOptions } from './DexVersionPicker';
