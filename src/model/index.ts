export { createModel, Model, type CreateModelOptions } from './model.ts';
export type { Param, Layout } from './params.ts';
export { VARIANTS, type Variant } from './variants.ts';
export * from './types.ts';
