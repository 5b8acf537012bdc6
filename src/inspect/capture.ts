// Captures the attention weights of MobileViT blocks from the model's own forward pass (eval mode),
// through the probe: the weights are cloned and kept while the forward runs (no GPU stall inside it),
// then read back and disposed once it is done. A segmentation or detection network's backbone holds the same
// MobileViT blocks, captured by the same probe; its pass's own outputs (the class map's logits, the boxes' deltas
// and logits) come back with them, so the prediction shown beside the attention is that of the same pass.
import * as tf from '@tensorflow/tfjs';
import { DetectionModel } from '../model/detection.ts';
import type { AnyNetwork } from '../model/networks.ts';
import type { BlockInfo, PatchGrid, Probe } from '../model/types.ts';
import type { BlockAttention } from './attention-math.ts';
import type { AttentionBlockSummary } from './attention.ts';
import type { DenseOutput } from './dense-predict.ts';

export interface AttentionCapture {
  /** A classifier's softmax probabilities [B, classes]; empty for a segmentation or detection network (see `dense`). */
  probs: Float32Array;
  /** The network's outputs per position: a classifier's classes, a dense network's (background included). */
  numClasses: number;
  /** A segmentation or detection network's outputs of the same pass; null for a classifier. */
  dense: DenseOutput | null;
  /** The captured MobileViT blocks, by MobileViT index. */
  blocks: BlockAttention[];
  /** Every MobileViT block of the pass (captured or not): layers, heads and the grid it used. */
  summaries: AttentionBlockSummary[];
}

interface Seen {
  info: BlockInfo;
  grid: PatchGrid;
  heads: number;
  layerCount: number;
  /** Kept copies of each layer's weights, for captured blocks only. */
  kept: tf.Tensor4D[];
}

/** The MobileViT blocks of the network (a dense network's are its backbone's), in order; empty for MobileNetV2. */
export function mobilevitBlocks(model: AnyNetwork): BlockInfo[] {
  return model.blocks().filter((b) => b.kind === 'mobilevit');
}

/** Throws (naming the range) unless `index` is one of the model's MobileViT blocks. */
export function checkBlockIndex(model: AnyNetwork, index: number): void {
  const count = mobilevitBlocks(model).length;
  if (count === 0) throw new RangeError(`${model.variant} has no MobileViT blocks, so no attention to show`);
  if (!(Number.isInteger(index) && index >= 0 && index < count))
    throw new RangeError(`block ${index} is out of range: ${model.variant} has ${count} MobileViT blocks (0..${count - 1})`);
}

/**
 * Runs x [B, H, W, 3] through the model and returns every layer's attention of the chosen MobileViT
 * blocks (all of them when `only` is omitted; a large image's first block alone can hold 100 MB),
 * plus the pass's outputs (a classifier's probabilities, a dense network's raw outputs) and the shape of every
 * block's attention.
 */
export async function captureAttention(model: AnyNetwork, x: tf.Tensor4D, only?: number[]): Promise<AttentionCapture> {
  // Without `only`, checking block 0 checks that the model has MobileViT blocks at all.
  for (const i of only ?? [0]) checkBlockIndex(model, i);
  const seen = new Map<number, Seen>();
  const probe = {
    attention(info: BlockInfo, layer: number, weights: tf.Tensor4D, grid: PatchGrid) {
      const index = info.mobilevitIndex!;
      const entry = seen.get(index) ?? { info, grid, heads: weights.shape[1], layerCount: 0, kept: [] };
      seen.set(index, entry);
      entry.layerCount = Math.max(entry.layerCount, layer + 1);
      if (!only || only.includes(index)) entry.kept[layer] = tf.keep(weights.clone());
    },
  };
  try {
    const output = await readOutputs(model, x, probe);
    const ordered = [...seen].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    const blocks: BlockAttention[] = [];
    for (const s of ordered.filter((e) => e.kept.length > 0)) {
      const [seqs, heads, tokens] = s.kept[0].shape;
      const layers = await Promise.all(s.kept.map(async (t) => (await t.data()) as Float32Array));
      const batch = seqs / (s.grid.patch[0] * s.grid.patch[1]);
      blocks.push({ index: s.info.mobilevitIndex!, name: s.info.name, grid: s.grid, batch, heads, tokens, layers });
    }
    const summaries = ordered.map((s): AttentionBlockSummary => ({
      index: s.info.mobilevitIndex!, name: s.info.name, layers: s.layerCount, heads: s.heads,
      grid: [s.grid.rows, s.grid.cols], patch: [...s.grid.patch], featureSize: [...s.grid.featureSize],
    }));
    return { ...output, blocks, summaries };
  } finally {
    for (const s of seen.values()) for (const t of s.kept) t.dispose();
  }
}

const NO_PROBS = new Float32Array(0);

/** The pass with `probe` on, its outputs read back: a classifier's probabilities, a dense network's raw outputs. */
async function readOutputs(model: AnyNetwork, x: tf.Tensor4D, probe: Probe): Promise<Pick<AttentionCapture, 'probs' | 'numClasses' | 'dense'>> {
  if (model instanceof DetectionModel) {
    const out = model.forward(x, { probe });
    try {
      const [boxDeltas, classLogits] = await Promise.all([out.boxDeltas.data(), out.classLogits.data()]) as Float32Array[];
      return { probs: NO_PROBS, numClasses: model.numClasses, dense: { task: 'detection', boxDeltas, classLogits, anchors: out.anchors, numClasses: model.numClasses } };
    } finally {
      tf.dispose([out.boxDeltas, out.classLogits]);
    }
  }
  const y = model.forward(x, { probe });
  try {
    if (y.rank === 4) {
      const logits = (await y.data()) as Float32Array;
      return { probs: NO_PROBS, numClasses: model.numClasses, dense: { task: 'segmentation', logits, shape: y.shape as [number, number, number, number] } };
    }
    const probs = tf.softmax(y as tf.Tensor2D);
    try {
      return { probs: (await probs.data()) as Float32Array, numClasses: model.numClasses, dense: null };
    } finally {
      probs.dispose();
    }
  } finally {
    y.dispose();
  }
}
