// The resolutions the paper's multi-scale sampler trains at around a base size: part of what a run's settings
// mean, so the settings check (trainable.ts) and the data sampler (src/data/sampler.ts) read the same rule.
//
// For base 256 the set is the paper's {160, 192, 256, 288, 320}. Other bases use the same ratios (0.625, 0.75, 1,
// 1.125, 1.25), each rounded to a multiple of d, where d = 32 for bases of 256 and up, 16 from 128, else 8: d
// shrinks with the base so that small bases keep five distinct sizes (base 64 gives {40, 48, 64, 72, 80}, base
// 128 gives {80, 96, 128, 144, 160}). The base itself is always in the set. Sizes that are not multiples of 32
// are fine: the model resizes feature maps before unfolding patches.

const PAPER_RATIOS = [160 / 256, 192 / 256, 1, 288 / 256, 320 / 256];

export function sizeDivisor(baseSize: number): number {
  return baseSize >= 256 ? 32 : baseSize >= 128 ? 16 : 8;
}

/** The multi-scale resolution set around `baseSize` (a positive integer), ascending and distinct. */
export function multiScaleSizes(baseSize: number): number[] {
  const d = sizeDivisor(baseSize);
  const sizes = PAPER_RATIOS.map((r) => (r === 1 ? baseSize : Math.max(d, Math.round((baseSize * r) / d) * d)));
  return [...new Set(sizes)].sort((a, b) => a - b);
}
