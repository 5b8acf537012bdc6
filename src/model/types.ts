// Shared model types: the input size limits, the forward options and the probe that inspection,
// profiling and the MACs counter hang on the one forward pass.
import type * as tf from '@tensorflow/tfjs';

/** The smallest input side: five stride-2 stages take 32 px down to 1. */
export const MIN_INPUT_SIZE = 32;
/** The largest input side the studio accepts (memory: activations grow with its square). */
export const MAX_INPUT_SIZE = 1024;

export type BlockKind = 'stem' | 'mv2' | 'mobilevit' | 'conv' | 'head';
/** The parts a MobileViT block is split into for profiling and inspection. */
export const PART_NAMES = ['local', 'unfold', 'transformer', 'fold', 'projection', 'fusion'] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface BlockInfo {
  /** Position in network order, 0-based. */
  index: number;
  /** timm's module path: 'stem', 'stages.2.1', 'final_conv', 'head' (MobileNetV2: 'conv_stem', 'blocks.1.0', …). */
  name: string;
  kind: BlockKind;
  /** Trainable parameters of this block. */
  params: number;
  /** For kind 'mobilevit': which MobileViT block this is, counted from 0. */
  mobilevitIndex?: number;
}

/** The patch grid a MobileViT block attended over (after any bilinear resize). */
export interface PatchGrid {
  rows: number; // n_h
  cols: number; // n_w
  patch: [number, number]; // [p_h, p_w]
  /** Feature map size before the resize (equal to rows*p_h × cols*p_w when no resize happened). */
  featureSize: [number, number];
}

/**
 * Receives what the forward pass computes. Tensors passed in are owned by the forward pass (they are
 * disposed when its tidy ends): call tf.keep or clone what you want to keep.
 */
export interface Probe {
  blockStart?(block: BlockInfo, input: tf.Tensor4D): void;
  blockEnd?(block: BlockInfo, output: tf.Tensor): void;
  /**
   * After each part of a block split into parts: a MobileViT block's PartName (unfold/transformer output is
   * [B·P, N, d]), DeepLabv3's ASPP branches and projection (deeplabv3.ts asppPartNames).
   */
  partEnd?(block: BlockInfo, part: string, output: tf.Tensor): void;
  /** After each transformer layer of a MobileViT block, output [B·P, N, d]. */
  layerEnd?(block: BlockInfo, layer: number, output: tf.Tensor3D): void;
  /** Attention weights of one transformer layer: [B·P, heads, N, N], rows sum to 1. */
  attention?(block: BlockInfo, layer: number, weights: tf.Tensor4D, grid: PatchGrid): void;
  /** Multiply-adds of every conv / linear / attention product, as they happen. */
  macs?(count: number): void;
}

export interface ForwardOptions {
  /** Training mode: BatchNorm uses batch statistics and updates running stats; dropout is active. */
  training?: boolean;
  probe?: Probe;
  /**
   * A gradient is taken through this inference-mode pass (a receptive field): dilated convolutions run as per-tap
   * products as in training (atrous.ts), since TF.js has no gradient for dilation.
   */
  differentiable?: boolean;
  /** Seed source for dropout masks, so that a resumed run draws the same masks. */
  nextSeed?: () => number;
}
