// Unfold a feature map into MobileViT's patch sequences and fold it back. Pure functions; the grid they
// return is what the attention views need to map a token back to its place in the image.
import * as tf from '@tensorflow/tfjs';
import type { PatchGrid } from './types.ts';

/** The grid a feature map of size [h, w] unfolds into: sizes are rounded up to a multiple of the patch. */
export function patchGrid(h: number, w: number, patch: [number, number]): PatchGrid {
  const [ph, pw] = patch;
  return { rows: Math.ceil(h / ph), cols: Math.ceil(w / pw), patch, featureSize: [h, w] };
}

/** Bilinear resize with PyTorch's align_corners=False semantics (half-pixel centres). */
export function resizeBilinear(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return tf.image.resizeBilinear(x, size, false, true);
}

/**
 * Swaps axes 1 and 2 of a 4-D view. Every rearrangement below is built from this one: TF.js's wasm
 * backend has fast transposes up to rank 4 and a slow generic path above it (about 10× slower here).
 */
function swap12(x: tf.Tensor, shape: [number, number, number, number]): tf.Tensor4D {
  return x.reshape(shape).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * x [B, H, W, C] → patches [B·P, N, C] with P = ph·pw pixels per patch and N = rows·cols patches.
 * Row b·P + (i·pw + j) of the result, token r·cols + c, holds pixel (r·ph + i, c·pw + j): attention mixes
 * tokens that share a within-patch offset. A map whose size is not a multiple of the patch is first
 * resized bilinearly up to the next multiple, as the reference does.
 */
export function unfold(x: tf.Tensor4D, patch: [number, number]): { patches: tf.Tensor3D; grid: PatchGrid } {
  const [b, h, w, c] = x.shape;
  const grid = patchGrid(h, w, patch);
  const [ph, pw] = patch;
  const hh = grid.rows * ph;
  const ww = grid.cols * pw;
  const src = hh !== h || ww !== w ? resizeBilinear(x, [hh, ww]) : x;
  const { rows, cols } = grid;
  // [B·rows, ph, cols, pw·C] → [B·rows, cols, ph, pw·C]: each patch's pixels together, [B, rows·cols, ph·pw, C]
  const byPatch = swap12(src, [b * rows, ph, cols, pw * c]);
  // [B, rows·cols, ph·pw, C] → [B, ph·pw, rows·cols, C]
  const patches = swap12(byPatch, [b, rows * cols, ph * pw, c]).reshape([b * ph * pw, rows * cols, c]) as tf.Tensor3D;
  return { patches, grid };
}

/** The inverse of unfold: patches [B·P, N, C] → [B, H, W, C] at the grid's original feature size. */
export function fold(patches: tf.Tensor3D, grid: PatchGrid): tf.Tensor4D {
  const [ph, pw] = grid.patch;
  const [bp, , c] = patches.shape;
  const b = bp / (ph * pw);
  const { rows, cols } = grid;
  // The two swaps of unfold, undone in reverse order.
  // [B, ph·pw, rows·cols, C] → [B, rows·cols, ph·pw, C]
  const byPatch = swap12(patches, [b, ph * pw, rows * cols, c]);
  // [B·rows, cols, ph, pw·C] → [B·rows, ph, cols, pw·C] = [B, H, W, C]
  const x = swap12(byPatch, [b * rows, cols, ph, pw * c]).reshape([b, rows * ph, cols * pw, c]) as tf.Tensor4D;
  const [h, w] = grid.featureSize;
  return h !== grid.rows * ph || w !== grid.cols * pw ? resizeBilinear(x, [h, w]) : x;
}
