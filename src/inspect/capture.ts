// Captures the attention weights of MobileViT blocks from the model's own forward pass (eval mode),
// through the probe: the weights are cloned and kept while the forward runs (no GPU stall inside it),
// then read back and disposed once it is done.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/index.ts';
import type { BlockInfo, PatchGrid } from '../model/types.ts';
import type { BlockAttention } from './attention-math.ts';
import type { AttentionBlockSummary } from './attention.ts';

export interface AttentionCapture {
  /** Softmax probabilities [B, classes]. */
  probs: Float32Array;
  numClasses: number;
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

/** The MobileViT blocks of the model, in order; empty for MobileNetV2. */
export function mobilevitBlocks(model: Model): BlockInfo[] {
  return model.blocks().filter((b) => b.kind === 'mobilevit');
}

/** Throws (naming the range) unless `index` is one of the model's MobileViT blocks. */
export function checkBlockIndex(model: Model, index: number): void {
  const count = mobilevitBlocks(model).length;
  if (count === 0) throw new RangeError(`${model.variant} has no MobileViT blocks, so no attention to show`);
  if (!(Number.isInteger(index) && index >= 0 && index < count))
    throw new RangeError(`block ${index} is out of range: ${model.variant} has ${count} MobileViT blocks (0..${count - 1})`);
}

/**
 * Runs x [B, H, W, 3] through the model and returns every layer's attention of the chosen MobileViT
 * blocks (all of them when `only` is omitted; a large image's first block alone can hold 100 MB),
 * plus the class probabilities and the shape of every block's attention.
 */
export async function captureAttention(model: Model, x: tf.Tensor4D, only?: number[]): Promise<AttentionCapture> {
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
  let logits: tf.Tensor2D | undefined;
  try {
    logits = model.forward(x, { probe });
    const probs = tf.softmax(logits);
    const probsData = (await probs.data()) as Float32Array;
    probs.dispose();
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
    return { probs: probsData, numClasses: logits.shape[1], blocks, summaries };
  } finally {
    logits?.dispose();
    for (const s of seen.values()) for (const t of s.kept) t.dispose();
  }
}
