// An atrous (dilated) convolution as a sum of per-tap products, for training. TF.js has no gradient for
// dilated convolutions on any backend ("dilation rates greater than 1 are not yet supported in gradients"),
// and the studio's wasm gradient kernels take dilation 1 only. Written as taps, every op has a gradient:
//   y[b, r, c, :] = Σ_{i,j} x_pad[b, r·s + i·d, c·s + j·d, :] · W[i, j]   (x_pad: x zero-padded by `pad`)
// and a tap whose window lies wholly in the padding is skipped: it adds exact zeros (DeepLabv3's rates 12
// and 18 on a 16×16 map leave only the centre tap).
import * as tf from '@tensorflow/tfjs';

/** Rows or columns [start, start + count·stride) of an axis of length `size` padded by `pad` on both sides: any real pixel? */
function touchesImage(start: number, count: number, stride: number, pad: number, size: number): boolean {
  const first = start;
  const last = start + (count - 1) * stride;
  return last >= pad && first < pad + size;
}

/**
 * x [B, H, W, cin] ⊛ filter [k, k, cin, cout] (HWIO) at stride 1 with `dilation` and symmetric zero `pad` →
 * [B, h, w, cout], equal to tf.conv2d(x, filter, 1, pad, 'NHWC', dilation). Stride 1 only: the windows are plain
 * slices (TF.js's StridedSlice has no gradient), and every atrous convolution of the studio's models has stride 1.
 */
export function atrousConvTaps(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number, dilation: number): tf.Tensor4D {
  if (stride !== 1) throw new Error(`atrous convolution for training: stride 1 only, got ${stride}`);
  return tf.tidy(() => {
    const [b, hIn, wIn, cin] = x.shape;
    const [k, , , cout] = filter.shape;
    const h = Math.floor((hIn + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
    const w = Math.floor((wIn + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
    const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    const terms: tf.Tensor2D[] = [];
    for (let i = 0; i < k; i++) {
      if (!touchesImage(i * dilation, h, stride, pad, hIn)) continue;
      for (let j = 0; j < k; j++) {
        if (!touchesImage(j * dilation, w, stride, pad, wIn)) continue;
        const window = tf.slice(padded, [0, i * dilation, j * dilation, 0], [b, h, w, cin]);
        const weight = tf.reshape(tf.slice(filter, [i, j, 0, 0], [1, 1, cin, cout]), [cin, cout]) as tf.Tensor2D;
        terms.push(tf.matMul(tf.reshape(window, [b * h * w, cin]) as tf.Tensor2D, weight));
      }
    }
    // Pairwise adds, not tf.addN: webgpu's addN is wrong with 8 or more inputs (a 3×3 kernel has 9 taps).
    const sum = terms.length === 0 ? tf.zeros([b * h * w, cout]) : terms.reduce((acc, t) => tf.add(acc, t));
    return tf.reshape(sum, [b, h, w, cout]) as tf.Tensor4D;
  });
}
