// Model variants as data, one typed table each, following timm's mobilevit.py / efficientnet.py and the
// paper (arXiv:2110.02178, Table 4). Channel counts, transformer widths and depths are the reference's.

/** A MobileNetV2 inverted-residual stage: `depth` blocks, the first with `stride`. */
export interface MV2StageSpec {
  depth: number;
  channels: number;
  stride: number;
  expansion: number;
}

/** A MobileViT transformer block appended after the stage's MV2 block(s). */
export interface ViTSpec {
  dim: number; // transformer width d
  depth: number; // L transformer layers
  patch: [number, number];
  heads: number;
  mlpRatio: number;
}

export interface MobileViTStageSpec extends MV2StageSpec {
  vit?: ViTSpec;
}

export interface MobileViTVariant {
  family: 'mobilevit';
  stemChannels: number;
  stages: MobileViTStageSpec[];
  numFeatures: number; // the 1×1 final conv's width
  /** Dropout inside the transformer (ml-cvnets: after attention and after the MLP). */
  transformerDropout: number;
  classifierDropout: number;
}

export interface MobileNetV2Variant {
  family: 'mobilenet_v2';
  stemChannels: number;
  /** The first stage is timm's depthwise-separable block (expansion 1); the rest are inverted residuals. */
  stages: MV2StageSpec[];
  numFeatures: number;
  classifierDropout: number;
}

export type Variant = MobileViTVariant | MobileNetV2Variant;

const vit = (dim: number, depth: number): ViTSpec => ({ dim, depth, patch: [2, 2], heads: 4, mlpRatio: 2 });

export const MOBILEVIT_XXS: MobileViTVariant = {
  family: 'mobilevit',
  stemChannels: 16,
  stages: [
    { depth: 1, channels: 16, stride: 1, expansion: 2 },
    { depth: 3, channels: 24, stride: 2, expansion: 2 },
    { depth: 1, channels: 48, stride: 2, expansion: 2, vit: vit(64, 2) },
    { depth: 1, channels: 64, stride: 2, expansion: 2, vit: vit(80, 4) },
    { depth: 1, channels: 80, stride: 2, expansion: 2, vit: vit(96, 3) },
  ],
  numFeatures: 320,
  transformerDropout: 0.05,
  classifierDropout: 0.1,
};

export const MOBILEVIT_XS: MobileViTVariant = {
  family: 'mobilevit',
  stemChannels: 16,
  stages: [
    { depth: 1, channels: 32, stride: 1, expansion: 4 },
    { depth: 3, channels: 48, stride: 2, expansion: 4 },
    { depth: 1, channels: 64, stride: 2, expansion: 4, vit: vit(96, 2) },
    { depth: 1, channels: 80, stride: 2, expansion: 4, vit: vit(120, 4) },
    { depth: 1, channels: 96, stride: 2, expansion: 4, vit: vit(144, 3) },
  ],
  numFeatures: 384,
  transformerDropout: 0.1,
  classifierDropout: 0.1,
};

export const MOBILEVIT_S: MobileViTVariant = {
  family: 'mobilevit',
  stemChannels: 16,
  stages: [
    { depth: 1, channels: 32, stride: 1, expansion: 4 },
    { depth: 3, channels: 64, stride: 2, expansion: 4 },
    { depth: 1, channels: 96, stride: 2, expansion: 4, vit: vit(144, 2) },
    { depth: 1, channels: 128, stride: 2, expansion: 4, vit: vit(192, 4) },
    { depth: 1, channels: 160, stride: 2, expansion: 4, vit: vit(240, 3) },
  ],
  numFeatures: 640,
  transformerDropout: 0.1,
  classifierDropout: 0.1,
};

/** MobileNetV2 1.0 (Sandler et al. 2018), the paper's CNN baseline; timm's mobilenetv2_100 layout. */
export const MOBILENET_V2: MobileNetV2Variant = {
  family: 'mobilenet_v2',
  stemChannels: 32,
  stages: [
    { depth: 1, channels: 16, stride: 1, expansion: 1 },
    { depth: 2, channels: 24, stride: 2, expansion: 6 },
    { depth: 3, channels: 32, stride: 2, expansion: 6 },
    { depth: 4, channels: 64, stride: 2, expansion: 6 },
    { depth: 3, channels: 96, stride: 1, expansion: 6 },
    { depth: 3, channels: 160, stride: 2, expansion: 6 },
    { depth: 1, channels: 320, stride: 1, expansion: 6 },
  ],
  numFeatures: 1280,
  classifierDropout: 0.2,
};

export const VARIANTS = {
  mobilevit_xxs: MOBILEVIT_XXS,
  mobilevit_xs: MOBILEVIT_XS,
  mobilevit_s: MOBILEVIT_S,
  mobilenet_v2: MOBILENET_V2,
} as const satisfies Record<string, Variant>;

/** timm's make_divisible: round to a multiple of 8, never dropping more than 10%. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}
