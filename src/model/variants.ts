// The shapes of a variant's layer table, following timm's mobilevit.py / efficientnet.py. The tables
// themselves are in the model registry, one family a file (src/model/registry/).

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

/** timm's make_divisible: round to a multiple of 8, never dropping more than 10%. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}
