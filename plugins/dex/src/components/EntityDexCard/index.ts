export { EntityDexCard } from './EntityDexCard';
