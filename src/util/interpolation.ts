// The resize kernels of the sources the studio loads: timm's configs say bicubic, Apple's Hugging Face ones
// bilinear. Here, below every layer, because the model registry's pretrained rows, the recipe's preprocessing and
// the data pipeline's resize all name them.
export const INTERPOLATIONS = ['bicubic', 'bilinear'] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];
