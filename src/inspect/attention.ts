// Answers an attention query on captured weights, in the shape the CLI prints and the UI shows: the map
// over the patch grid (sums to 1) and the same map on the pixels of the image the model saw.
import type { HeatmapScale } from './overlay.ts';
import { gridToPixels, queryAttention, toRows, type AttentionQuery, type BlockAttention } from './attention-math.ts';

export interface AttentionBlockSummary {
  /** MobileViT block index from 0. */
  index: number;
  name: string;
  layers: number;
  heads: number;
  grid: [number, number];
  patch: [number, number];
  /** The block's feature map before any resize to a multiple of the patch. */
  featureSize: [number, number];
}

export interface AttentionAnswer {
  block: number;
  blockName: string;
  /** null: rollout over all layers. */
  layer: number | null;
  head: number | 'mean';
  patch: [number, number];
  pixel: [number, number] | 'mean';
  grid: [number, number];
  patchSize: [number, number];
  featureSize: [number, number];
  /** [height, width] of the model's input. */
  imageSize: [number, number];
  /** rows × cols, sums to 1. */
  map: number[][];
  /** height × width of the input, sums to 1. */
  pixelMap: Float32Array;
}

/**
 * The colour scale of an attention overlay: stretched over the patches other than the query, on the
 * pixel map's scale. A query often keeps much of its attention on itself; on a linear scale that one
 * patch would hide where the rest goes. The query's own patch saturates (and is outlined in the UI).
 */
export function attentionOverlayScale(answer: AttentionAnswer): HeatmapScale {
  const [pr, pc] = answer.patch;
  const others = answer.map.flatMap((row, r) => row.filter((_, c) => r !== pr || c !== pc));
  if (others.length === 0) return { kind: 'linear' };
  // Grid cells and pixels both sum to 1: one cell's share spreads over its pixels.
  const perPixel = (answer.grid[0] * answer.grid[1]) / (answer.imageSize[0] * answer.imageSize[1]);
  return { kind: 'range', lo: Math.min(...others) * perPixel, hi: Math.max(...others) * perPixel };
}

/** Finds MobileViT block `index` among the captured ones, with an error listing what exists. */
export function findBlock(blocks: BlockAttention[], index: number): BlockAttention {
  const b = blocks.find((c) => c.index === index);
  if (!b) throw new RangeError(`block ${index} is out of range: captured MobileViT blocks are ${blocks.map((c) => c.index).join(', ') || 'none'}`);
  return b;
}

export function answerQuery(block: BlockAttention, q: AttentionQuery, imageSize: [number, number]): AttentionAnswer {
  const flat = queryAttention(block, q);
  const { rows, cols } = block.grid;
  return {
    block: block.index,
    blockName: block.name,
    layer: q.layer === 'rollout' ? null : q.layer,
    head: q.head,
    patch: q.patch,
    pixel: q.pixel,
    grid: [rows, cols],
    patchSize: [...block.grid.patch],
    featureSize: [...block.grid.featureSize],
    imageSize,
    map: toRows(flat, rows, cols),
    pixelMap: gridToPixels(flat, rows, cols, imageSize[0], imageSize[1]),
  };
}
