export { DexIngressClassPicker } from './DexIngressClassPicker';
