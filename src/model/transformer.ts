// The pre-norm transformer layer MobileViT uses between unfold and fold (timm's vision_transformer
// Block): x + Attn(LN(x)), then x + MLP(LN(x)). Attention runs among the N patches, separately for
// each of the B·P pixel positions, which is why the sequence batch is B·P.
import * as tf from '@tensorflow/tfjs';
import { batchMatMul4d, batchMatMul4dTransposeB } from './matmul.ts';
import { softmaxLastAxis } from './custom-grads.ts';
import { activate, dropout, layerNorm, linear, linearParts, type Ctx } from './layers.ts';
import type { ParamStore } from './params.ts';

const LINEAR_INIT = { kind: 'normal' as const, std: 0.01 }; // timm ByobNet's Linear init

export interface TransformerLayerSpec {
  dim: number;
  heads: number;
  mlpRatio: number;
  dropout: number;
}

/** Receives each layer's attention weights [B·P, heads, N, N] (rows sum to 1). */
export type AttentionSink = (weights: tf.Tensor4D) => void;

export function transformerLayer(store: ParamStore, key: string, s: TransformerLayerSpec) {
  const hidden = Math.round(s.dim * s.mlpRatio);
  const headDim = s.dim / s.heads;
  const norm1 = layerNorm(store, `${key}.norm1`, s.dim);
  const qkv = linearParts(store, `${key}.attn.qkv`, s.dim, 3, s.dim, LINEAR_INIT);
  const proj = linear(store, `${key}.attn.proj`, s.dim, s.dim, LINEAR_INIT);
  const norm2 = layerNorm(store, `${key}.norm2`, s.dim);
  const fc1 = linear(store, `${key}.mlp.fc1`, s.dim, hidden, LINEAR_INIT);
  const fc2 = linear(store, `${key}.mlp.fc2`, hidden, s.dim, LINEAR_INIT);

  /** x [S, N, d] (S = B·P sequences) → [S, N, d]. */
  return (x: tf.Tensor3D, ctx: Ctx, sink?: AttentionSink): tf.Tensor3D => {
    const [seqs, n] = x.shape;
    // qkv features are [q | k | v], each split into heads. Rank-4 transposes only (fast on wasm):
    // [S, N, d] → [S, N, heads, hd] → [S, heads, N, hd].
    const toHeads = (t: tf.Tensor) => t.reshape([seqs, n, s.heads, headDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    const [q, k, v] = qkv(norm1(x, ctx), ctx).map(toHeads);
    ctx.probe?.macs?.(2 * seqs * s.heads * n * n * headDim);
    // Scale q rather than the N×N scores: the same product, on N·hd values instead of N².
    const weights = softmaxLastAxis(batchMatMul4dTransposeB(tf.mul(q, 1 / Math.sqrt(headDim)) as tf.Tensor4D, k)) as tf.Tensor4D;
    sink?.(weights);
    const attended = batchMatMul4d(weights, v).transpose([0, 2, 1, 3]).reshape([seqs, n, s.dim]);
    const y = tf.add(x, dropout(proj(attended, ctx), s.dropout, ctx));
    const mlp = fc2(activate(fc1(norm2(y, ctx), ctx), 'silu'), ctx);
    return tf.add(y, dropout(mlp, s.dropout, ctx)) as tf.Tensor3D;
  };
}
