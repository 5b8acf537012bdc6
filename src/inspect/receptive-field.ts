// Effective receptive field (Luo et al. 2016): how strongly each input pixel moves one output location
// of a block. The scalar is the sum over channels of the block's output at that location; its gradient
// with respect to the input image, |∂/∂x| summed over the three input channels, normalised to a
// maximum of 1, is the field. Eval mode (BatchNorm running statistics), same forward pass as training.
import * as tf from '@tensorflow/tfjs';
import type { AnyNetwork } from '../model/networks.ts';
import type { BlockInfo } from '../model/types.ts';

/** Fractions of input pixels at or above these fractions of the field's maximum. */
export const COVERAGE_LEVEL = 1e-2;
export const SUPPORT_LEVEL = 1e-4;

export interface ReceptiveField {
  index: number;
  name: string;
  kind: BlockInfo['kind'];
  /** [height, width] of the block's output feature map. */
  featureSize: [number, number];
  /** The output location, [row, col] in that feature map. */
  location: [number, number];
  /** Fraction of input pixels at ≥ 1% of the maximum. */
  coverage: number;
  /** Fraction of input pixels at ≥ 1e-4 of the maximum. */
  support: number;
  /** [height, width] of the input. */
  imageSize: [number, number];
  /** The field, height × width, maximum 1 (all zeros when the output does not depend on the input). */
  field: Float32Array;
}

/** Normalises |gradient| to a maximum of 1 in place and measures coverage and support. */
export function fieldStats(field: Float32Array): { coverage: number; support: number } {
  let max = 0;
  for (const v of field) if (v > max) max = v;
  if (!(max > 0)) {
    field.fill(0);
    return { coverage: 0, support: 0 };
  }
  let covered = 0;
  let supported = 0;
  for (let i = 0; i < field.length; i++) {
    const v = (field[i] /= max);
    if (v >= COVERAGE_LEVEL) covered++;
    if (v >= SUPPORT_LEVEL) supported++;
  }
  return { coverage: covered / field.length, support: supported / field.length };
}

/**
 * The blocks a field can be measured after: those on the network's one path from the image with a spatial output
 * (all but the heads: a classifier's, DeepLabv3's 1×1 classifier, SSDLite's per-level heads, which read a level
 * each rather than the block before them).
 */
export function spatialBlocks(model: AnyNetwork): BlockInfo[] {
  return model.blocks().filter((b) => b.kind !== 'head');
}

/** |∂ location sum / ∂ x| summed over the input channels [H, W], with where the location is (see receptiveField). */
function fieldTensor(model: AnyNetwork, x: tf.Tensor4D, block: BlockInfo, location?: [number, number]) {
  if (x.shape[0] !== 1) throw new RangeError(`the receptive field takes one image, got a batch of ${x.shape[0]}`);
  if (block.kind === 'head') throw new RangeError(`block ${block.index} (${block.name}) is the classifier: it has no spatial output`);
  let featureSize: [number, number] = [0, 0];
  let at: [number, number] = [0, 0];
  const locationSum = (input: tf.Tensor): tf.Scalar => {
    const out = model.forwardUntil(input as tf.Tensor4D, block.name, { differentiable: true }) as tf.Tensor4D;
    featureSize = [out.shape[1], out.shape[2]];
    at = location ?? [Math.floor(featureSize[0] / 2), Math.floor(featureSize[1] / 2)];
    if (!at.every((v, i) => Number.isInteger(v) && v >= 0 && v < featureSize[i]))
      throw new RangeError(`location ${at.join(',')} is outside the ${featureSize.join('×')} feature map of block ${block.index} (${block.name})`);
    return tf.sum(tf.slice(out, [0, at[0], at[1], 0], [1, 1, 1, -1]));
  };
  const magnitude = tf.tidy(() => tf.sum(tf.abs(tf.grad(locationSum)(x)), -1));
  const finish = (field: Float32Array): ReceptiveField => ({
    index: block.index, name: block.name, kind: block.kind, featureSize, location: at,
    ...fieldStats(field), imageSize: [x.shape[1], x.shape[2]], field,
  });
  return { magnitude, finish };
}

/**
 * The field of one output location after `block` for the single image x [1, H, W, 3]; `location`
 * defaults to the centre of the block's feature map, (⌊h/2⌋, ⌊w/2⌋). Runs the network only up to
 * that block.
 */
export function receptiveField(model: AnyNetwork, x: tf.Tensor4D, block: BlockInfo, location?: [number, number]): ReceptiveField {
  const { magnitude, finish } = fieldTensor(model, x, block, location);
  try {
    return finish(magnitude.dataSync() as Float32Array);
  } finally {
    magnitude.dispose();
  }
}

/**
 * The same, read back asynchronously: on webgpu a synchronous read goes through canvases, which SwiftShader
 * answered with zeros (an all-zero field); the device kernel uses this one.
 */
export async function receptiveFieldAsync(model: AnyNetwork, x: tf.Tensor4D, block: BlockInfo, location?: [number, number]): Promise<ReceptiveField> {
  const { magnitude, finish } = fieldTensor(model, x, block, location);
  try {
    return finish(new Float32Array((await magnitude.data()) as Float32Array));
  } finally {
    magnitude.dispose();
  }
}

/** Fields after each of `blocks` (network order), reporting progress after each. */
export function receptiveFields(model: AnyNetwork, x: tf.Tensor4D, blocks: BlockInfo[], location?: [number, number],
  onProgress?: (done: number, total: number) => void): ReceptiveField[] {
  return blocks.map((b, i) => {
    const field = receptiveField(model, x, b, location);
    onProgress?.(i + 1, blocks.length);
    return field;
  });
}
