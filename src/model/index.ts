export { createModel, Model, type CreateModelOptions } from './model.ts';
export type { Param, Layout } from './params.ts';
export type { Variant } from './variants.ts';
export { VARIANT_NAMES, type VariantName } from './registry/index.ts';
export * from './types.ts';
