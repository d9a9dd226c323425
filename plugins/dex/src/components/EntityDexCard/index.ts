export { EntityDexCard } from './EntityDexCard';
export type { EntityDexCardProps } from './EntityDexCard';
