export { DexClusterPicker } from './DexClusterPicker';
