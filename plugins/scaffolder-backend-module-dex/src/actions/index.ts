export { createDexPackApplyAction } from './packApply';
export { createDexPackRenderAction } from './packRender';
