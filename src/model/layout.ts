// PyTorch ↔ TensorFlow.js weight layouts. This is the only place they are converted.
import type { NamedTensor } from './safetensors.ts';
import type { Layout } from './params.ts';

/** Returns `data` (row-major, `shape`) with its axes permuted so that output axis i is input axis perm[i]. */
export function permute(t: NamedTensor, perm: number[]): NamedTensor {
  const { shape, data } = t;
  const outShape = perm.map((p) => shape[p]);
  const rank = shape.length;
  const inStrides = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const idx = new Array(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      src += strides[a];
      if (idx[a] < outShape[a]) break;
      src -= strides[a] * outShape[a];
      idx[a] = 0;
    }
  }
  return { shape: outShape, data: out };
}

// conv HWIO ↔ OIHW, depthwise [kh,kw,C,1] ↔ [C,1,kh,kw], linear [in,out] ↔ [out,in].
const TO_TORCH: Record<Layout, number[] | null> = { conv: [3, 2, 0, 1], dwconv: [2, 3, 0, 1], linear: [1, 0], vector: null };
const FROM_TORCH: Record<Layout, number[] | null> = { conv: [2, 3, 1, 0], dwconv: [2, 3, 0, 1], linear: [1, 0], vector: null };

export function toTorchLayout(layout: Layout, t: NamedTensor): NamedTensor {
  const perm = TO_TORCH[layout];
  return perm ? permute(t, perm) : t;
}

export function fromTorchLayout(layout: Layout, t: NamedTensor): NamedTensor {
  const perm = FROM_TORCH[layout];
  return perm ? permute(t, perm) : t;
}

/** The PyTorch shape of a tensor held here with `shape` and `layout`. */
export function torchShape(layout: Layout, shape: number[]): number[] {
  const perm = TO_TORCH[layout];
  return perm ? perm.map((p) => shape[p]) : shape;
}

/** Swaps input channels 0 and 2 of an OIHW conv weight: a BGR-trained stem that takes RGB. */
export function swapInputChannels(w: NamedTensor): NamedTensor {
  const [o, i, kh, kw] = w.shape;
  if (w.shape.length !== 4 || i !== 3) throw new Error(`the stem weight is [${w.shape}], not [O, 3, kh, kw]`);
  const data = new Float32Array(w.data);
  const k = kh * kw;
  for (let oc = 0; oc < o; oc++) {
    const b = oc * 3 * k;
    data.set(w.data.subarray(b + 2 * k, b + 3 * k), b);
    data.set(w.data.subarray(b, b + k), b + 2 * k);
  }
  return { shape: w.shape.slice(), data };
}
