// Reading MobileViT's attention. Each transformer layer of a MobileViT block gives weights
// [B·P, heads, N, N]: sequence b·P + (ph·pw_count + pw) holds, as its N tokens, the pixels at offset
// (ph, pw) of every patch (token r·cols + c is patch (r, c)). There is no class token, so a "map"
// is one query token's row: where that patch (at that pixel offset) looks across all patches.
// Plain typed-array math, no tensors, so it is exact to test and cheap to re-query from the UI.
import type { PatchGrid } from '../model/types.ts';

/** The attention weights of every layer of one MobileViT block, read back from the forward pass. */
export interface BlockAttention {
  /** MobileViT block index, from 0. */
  index: number;
  /** timm module path, e.g. 'stages.2.1'. */
  name: string;
  grid: PatchGrid;
  batch: number;
  heads: number;
  /** N = rows·cols tokens per sequence. */
  tokens: number;
  /** One array per layer, [B·P, heads, N, N] row-major; every row sums to 1. */
  layers: Float32Array[];
}

export interface AttentionQuery {
  /** A layer index, or 'rollout' over all layers of the block. */
  layer: number | 'rollout';
  head: number | 'mean';
  /** [row, col] of the query patch in the grid. */
  patch: [number, number];
  /** The pixel inside the patch, or the mean over its P pixels. */
  pixel: [number, number] | 'mean';
  /** Which image of the batch; 0 by default. */
  sample?: number;
}

/** Throws a message naming the field when the query does not fit the block. */
export function checkQuery(a: BlockAttention, q: AttentionQuery): void {
  const [ph, pw] = a.grid.patch;
  const inRange = (v: number, n: number) => Number.isInteger(v) && v >= 0 && v < n;
  if (q.layer !== 'rollout' && !inRange(q.layer, a.layers.length))
    throw new RangeError(`layer ${q.layer} is out of range: block ${a.index} (${a.name}) has ${a.layers.length} layers (0..${a.layers.length - 1})`);
  if (q.head !== 'mean' && !inRange(q.head, a.heads))
    throw new RangeError(`head ${q.head} is out of range: block ${a.index} has ${a.heads} heads (0..${a.heads - 1})`);
  if (!inRange(q.patch[0], a.grid.rows) || !inRange(q.patch[1], a.grid.cols))
    throw new RangeError(`patch ${q.patch.join(',')} is outside the ${a.grid.rows}×${a.grid.cols} patch grid of block ${a.index}`);
  if (q.pixel !== 'mean' && (!inRange(q.pixel[0], ph) || !inRange(q.pixel[1], pw)))
    throw new RangeError(`pixel ${q.pixel.join(',')} is outside the ${ph}×${pw} patch`);
  if (!inRange(q.sample ?? 0, a.batch)) throw new RangeError(`sample ${q.sample} is out of range: batch of ${a.batch}`);
}

/**
 * One layer's [N, N] attention for sequence `seq`, for one head or averaged over heads. Rows of the
 * result still sum to 1 (a mean of stochastic rows is stochastic).
 */
export function headMatrix(a: BlockAttention, layer: number, seq: number, head: number | 'mean'): Float64Array {
  const n = a.tokens;
  const w = a.layers[layer];
  const out = new Float64Array(n * n);
  const heads = head === 'mean' ? Array.from({ length: a.heads }, (_, h) => h) : [head];
  for (const h of heads) {
    const base = (seq * a.heads + h) * n * n;
    for (let i = 0; i < n * n; i++) out[i] += w[base + i];
  }
  if (heads.length > 1) for (let i = 0; i < n * n; i++) out[i] /= heads.length;
  return out;
}

/**
 * Attention rollout (Abnar & Zuidema 2020) over a block's layers, first to last: each layer's
 * attention A gets the residual connection folded in as Â = ½A + ½I with rows renormalised, and the
 * rollout is R = Â_L · … · Â_1, so row i of R says how much each input token flows into output token
 * i. Only row `token` is computed (e_tokenᵀ·Â_L·…·Â_1, right to left): O(L·N²) instead of O(L·N³).
 * Identity attention rolls out to the identity.
 */
export function rolloutRow(layers: Float64Array[], n: number, token: number): Float64Array {
  if (layers.length === 0) throw new RangeError('rollout needs at least one layer');
  let v = new Float64Array(n);
  v[token] = 1;
  for (let l = layers.length - 1; l >= 0; l--) {
    const a = layers[l];
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (v[i] === 0) continue;
      let rowSum = 0;
      for (let j = 0; j < n; j++) rowSum += a[i * n + j];
      const scale = v[i] / (0.5 * rowSum + 0.5);
      for (let j = 0; j < n; j++) next[j] += scale * 0.5 * a[i * n + j];
      next[i] += scale * 0.5;
    }
    v = next;
  }
  return v;
}

/** The query's attention over the N patches (length rows·cols, sums to 1). */
export function queryAttention(a: BlockAttention, q: AttentionQuery): Float64Array {
  checkQuery(a, q);
  const [ph, pw] = a.grid.patch;
  const p = ph * pw;
  const n = a.tokens;
  const token = q.patch[0] * a.grid.cols + q.patch[1];
  const offsets = q.pixel === 'mean' ? Array.from({ length: p }, (_, i) => i) : [q.pixel[0] * pw + q.pixel[1]];
  const out = new Float64Array(n);
  for (const offset of offsets) {
    const seq = (q.sample ?? 0) * p + offset;
    const row = q.layer === 'rollout'
      ? rolloutRow(a.layers.map((_, l) => headMatrix(a, l, seq, q.head)), n, token)
      : headMatrix(a, q.layer, seq, q.head).subarray(token * n, (token + 1) * n);
    for (let j = 0; j < n; j++) out[j] += row[j] / offsets.length;
  }
  return out;
}

/** A flat rows·cols map as rows of numbers (the JSON / UI shape). */
export function toRows(map: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => map[r * cols + c]));
}

/**
 * Resamples a grid map onto an image of height × width. The patch grid covers the whole feature map
 * (the bilinear resize before unfold stretches it to the grid and fold stretches it back), and the
 * feature map covers the whole image, so cell (r, c) owns the pixels whose relative position falls in
 * it. Each pixel gets its cell's mass divided by the cell's pixel count: the result still sums to 1.
 */
export function gridToPixels(map: ArrayLike<number>, rows: number, cols: number, height: number, width: number): Float32Array {
  if (height < rows || width < cols) throw new RangeError(`a ${height}×${width} image is smaller than the ${rows}×${cols} grid`);
  const rowOf = Array.from({ length: height }, (_, y) => Math.floor((y * rows) / height));
  const colOf = Array.from({ length: width }, (_, x) => Math.floor((x * cols) / width));
  const rowCount = new Array<number>(rows).fill(0);
  const colCount = new Array<number>(cols).fill(0);
  for (const r of rowOf) rowCount[r]++;
  for (const c of colOf) colCount[c]++;
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const r = rowOf[y];
    for (let x = 0; x < width; x++) {
      const c = colOf[x];
      out[y * width + x] = map[r * cols + c] / (rowCount[r] * colCount[c]);
    }
  }
  return out;
}
