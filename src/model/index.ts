export { createModel, Model, type CreateModelOptions } from './model.ts';
export type { Param, Layout } from './params.ts';
export type { Variant } from './variants.ts';
export { NETWORK_NAMES, VARIANT_NAMES, parseVariant, type NetworkName, type VariantName } from './registry/index.ts';
export * from './types.ts';
