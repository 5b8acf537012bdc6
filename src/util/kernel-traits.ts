// What a TF.js backend's kernels are fast at, where the model's formulation depends on it. src/backend marks a
// backend when it installs kernels that change the answer (the studio's SIMD matmul on wasm); the model reads
// it when it builds a product. Unmarked backends keep the formulation measured fastest with TF.js's own kernels.
/** While set, every backend answers as with TF.js's own kernels (the benchmark's comparison: bench/kernels.ts). */
let suspended = false;

/** The backends marked as having one of these traits, and whether one has it now (no mark counts while suspended). */
function traitMarks(): { mark: (backend: string) => void; has: (backend: string) => boolean } {
  const backends = new Set<string>();
  return { mark: (backend) => void backends.add(backend), has: (backend) => !suspended && backends.has(backend) };
}

const transposedMatMul = traitMarks();

/** Runs `fn` with every mark ignored, and restores them however it ends. */
export async function withMarksSuspended<T>(fn: () => Promise<T>): Promise<T> {
  suspended = true;
  try {
    return await fn();
  } finally {
    suspended = false;
  }
}

/** `backend` (tf.getBackend()'s name) multiplies with transposed operands, and in batches, as fast as plainly. */
export const markTransposedMatMulFast = transposedMatMul.mark;
export const transposedMatMulIsFast = transposedMatMul.has;

/**
 * The studio's fused training-mode BatchNorm (src/backend/kernels/batchnorm.c), as TF.js kernels of these names
 * where a backend has them: moments → [mean, variance]; act → y; act-grad → [dx, dgamma, dbeta]. Attributes
 * { eps, act: 'none' | 'relu6' | 'silu' }.
 */
export const BATCH_NORM_KERNELS = { moments: 'StudioBatchNormMoments', act: 'StudioBatchNormAct', actGrad: 'StudioBatchNormActGrad' } as const;

const fusedBatchNorm = traitMarks();
export const markFusedBatchNorm = fusedBatchNorm.mark;

/** Whether `backend` has the fused BatchNorm kernels for `channels` channels (they take multiples of 4). */
export function fusedBatchNormFits(backend: string, channels: number): boolean {
  return fusedBatchNorm.has(backend) && channels % 4 === 0;
}

/**
 * The studio's fused optimizer updates (src/backend/kernels/adamw.c), as TF.js kernels of these names where a
 * backend has them: adamw {p, g, m, v} → [p', m', v'] with attributes { beta1, oneMinusBeta1, beta2,
 * oneMinusBeta2, sqrtBc2, eps, shrink (null: no weight decay), step }; ema {avg, w} → avg' with { d, oneMinusD }.
 * Every input float32; src/optim/adamw.ts and ema.ts hand them the scalars their composed updates use.
 */
export const FUSED_UPDATE_KERNELS = { adamw: 'StudioAdamW', ema: 'StudioEma' } as const;

const fusedUpdates = traitMarks();
export const markFusedUpdates = fusedUpdates.mark;
/** Whether `backend` runs AdamW's and the EMA's update of a parameter as one kernel. */
export const fusedUpdatesRun = fusedUpdates.has;

/**
 * The studio's fused softmax cross-entropy (src/backend/kernels/softmax-xent.c) as a TF.js kernel of this name
 * where a backend has it: logits [rows, cols] float32 and labels [rows] int32 → [loss (scalar), its gradient
 * with respect to the logits]; attribute { ignore } (the label of rows left out of the mean).
 */
export const SOFTMAX_XENT_KERNEL = 'StudioSoftmaxCrossEntropy';

const fusedSoftmaxXent = traitMarks();
export const markFusedSoftmaxXent = fusedSoftmaxXent.mark;
/** Whether `backend` computes a softmax cross-entropy and its gradient as one kernel. */
export const fusedSoftmaxXentRuns = fusedSoftmaxXent.has;

/**
 * The studio's softmax over the last axis (src/backend/kernels/softmax.c) as TF.js kernels of these names where a
 * backend has them: forward {x} → y = softmax(x); grad {y, dy} → dx = y·(dy − Σ dy·y) per row. Every tensor float32.
 */
export const SOFTMAX_KERNELS = { forward: 'StudioSoftmax', grad: 'StudioSoftmaxGrad' } as const;

const fusedSoftmax = traitMarks();
export const markFusedSoftmax = fusedSoftmax.mark;
/** Whether `backend` computes a last-axis softmax, and its gradient, as one kernel each. */
export const fusedSoftmaxRuns = fusedSoftmax.has;

/**
 * The studio's fused LayerNorm over the last axis (src/backend/kernels/layernorm.c), as TF.js kernels of these
 * names where a backend has them: forward {x, gamma, beta} → [y, x̂, invstd (shape of x with a last axis of 1)];
 * backward {dy, xhat, invstd, gamma} → [dx, dgamma, dbeta]. Attribute of the forward { eps }. Every input float32.
 */
export const LAYER_NORM_KERNELS = { forward: 'StudioLayerNorm', backward: 'StudioLayerNormGrad' } as const;

const fusedLayerNorm = traitMarks();
export const markFusedLayerNorm = fusedLayerNorm.mark;
/** Whether `backend` runs a LayerNorm and its gradient as one kernel each. */
export const fusedLayerNormRuns = fusedLayerNorm.has;
