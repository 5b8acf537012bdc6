// Softmax probabilities and the top-k classes of one row of logits.
export interface Prediction {
  index: number;
  probability: number;
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function topK(logits: ArrayLike<number>, k: number): Prediction[] {
  const p = softmax(logits);
  return [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, Math.min(k, p.length)).map((index) => ({ index, probability: p[index] }));
}
