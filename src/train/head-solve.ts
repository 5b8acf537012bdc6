// A quick run's classifier solved to its optimum. A linear head on fixed features is multinomial logistic
// regression: with an L2 penalty (λ/2)‖W‖² its loss is smooth and strictly convex in the weight, so it has one
// minimum, which full-batch L-BFGS reaches in tens of iterations on the cached rows — no learning rate, no epoch
// count, no schedule to get right (steps of AdamW with the window's defaults stopped far short of it: issue 21).
// λ is the weight decay, chosen on a held-out fold of the training images (their views stay together) among
// WEIGHT_DECAYS by the held-out loss, then the head is solved again on every row. Deterministic for the seed:
// the fold comes from it and nothing else is random (the start is zero).
//
// The products run on TF.js (the rows can be many); the L-BFGS vectors are float64 here.
import * as tf from '@tensorflow/tfjs';
import { Rng, mixSeed } from '../util/random.ts';

export interface HeadRows {
  /** Features [rows, dim], row-major. */
  x: Float32Array;
  labels: Int32Array;
  /** The training image of each row: an image's views fall in the same fold. */
  images: Int32Array;
  dim: number;
  classes: number;
}

/** The weight decays tried on the held-out fold (λ of (λ/2)‖W‖² added to the mean cross-entropy). */
export const WEIGHT_DECAYS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5];
/** Used when a class has a single training image (no fold can hold one out). */
export const FALLBACK_WEIGHT_DECAY = 1e-3;
/** The share of each class's training images held out to choose λ. */
export const HELD_OUT = 0.2;
/** Stream tag of the fold's shuffle (util/random.ts). */
const FOLD_STREAM = 0xf01d;
const HISTORY = 10;
/**
 * Largest gradient component left at the end. The gradient starts near 1e-1 (features of order 1, errors of
 * order 1); 1e-4 leaves the predictions where they are and spares the hundreds of float32-limited iterations a
 * tighter bound costs on separable rows (1,600 rows at 224 px: 500 iterations, 45 s under load, for 1e-5).
 */
export const TOLERANCE = 1e-4;
/** Choosing λ compares held-out losses: a looser solve orders them the same. */
const SEARCH_TOLERANCE = 1e-3;
const MAX_ITERATIONS = 300;

export interface Solved {
  /** The weight [dim, classes] row-major (the head's TF.js layout), then the bias [classes]. */
  params: Float64Array;
  /** The penalised mean loss at the end. */
  loss: number;
  iterations: number;
  /** Largest gradient component at the end. */
  gradMax: number;
}

export interface SolveOptions {
  weightDecay: number;
  /** Stop when no gradient component exceeds this (default TOLERANCE). */
  tolerance?: number;
  maxIterations?: number;
  /** Warm start (default zeros). */
  start?: Float64Array;
}

/** Mean cross-entropy + (λ/2)‖W‖² and its gradient on fixed rows. Holds the rows as tensors until disposed. */
class Objective {
  private readonly x: tf.Tensor2D;
  private readonly y: tf.Tensor2D;
  readonly size: number;

  constructor(rows: HeadRows, readonly weightDecay: number, select?: (row: number) => boolean) {
    const { dim, classes } = rows;
    const keep = Array.from({ length: rows.labels.length }, (_, i) => i).filter((i) => select?.(i) ?? true);
    const x = new Float32Array(keep.length * dim);
    keep.forEach((r, j) => x.set(rows.x.subarray(r * dim, (r + 1) * dim), j * dim));
    this.x = tf.tensor2d(x, [keep.length, dim]);
    this.y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(keep, (r) => rows.labels[r]), 'int32'), classes), 'float32') as tf.Tensor2D);
    this.size = dim * classes + classes;
  }

  get rowCount(): number {
    return this.x.shape[0];
  }

  /** Mean cross-entropy of `params` (no penalty) and top-1 hits. */
  crossEntropy(params: Float64Array): { loss: number; correct: number } {
    const [ce, hits] = tf.tidy(() => {
      const logp = tf.logSoftmax(this.logits(params));
      return [tf.neg(tf.mean(tf.sum(tf.mul(this.y, logp), 1))), tf.sum(tf.cast(tf.equal(tf.argMax(logp, 1), tf.argMax(this.y, 1)), 'float32'))];
    });
    const out = { loss: ce.dataSync()[0], correct: hits.dataSync()[0] };
    tf.dispose([ce, hits]);
    return out;
  }

  evaluate(params: Float64Array): { loss: number; grad: Float64Array } {
    const n = this.x.shape[0];
    const wCount = this.x.shape[1] * this.y.shape[1];
    const [ce, gw, gb] = tf.tidy(() => {
      const logp = tf.logSoftmax(this.logits(params));
      const diff = tf.div(tf.sub(tf.exp(logp), this.y), n); // d mean-CE / d logits
      return [tf.neg(tf.mean(tf.sum(tf.mul(this.y, logp), 1))), tf.matMul(this.x, diff, true, false), tf.sum(diff, 0)];
    });
    const grad = new Float64Array(this.size);
    grad.set(gw.dataSync());
    grad.set(gb.dataSync(), wCount);
    let loss = ce.dataSync()[0];
    tf.dispose([ce, gw, gb]);
    const λ = this.weightDecay;
    for (let i = 0; i < wCount; i++) {
      loss += 0.5 * λ * params[i] * params[i];
      grad[i] += λ * params[i];
    }
    return { loss, grad };
  }

  private logits(params: Float64Array): tf.Tensor2D {
    const [dim, classes] = [this.x.shape[1], this.y.shape[1]];
    const w = tf.tensor2d(Float32Array.from(params.subarray(0, dim * classes)), [dim, classes]);
    const b = tf.tensor1d(Float32Array.from(params.subarray(dim * classes)));
    return tf.add(tf.matMul(this.x, w), b);
  }

  dispose(): void {
    tf.dispose([this.x, this.y]);
  }
}

const dot = (a: Float64Array, b: Float64Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const maxAbs = (a: Float64Array) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };

/** Full-batch L-BFGS (two-loop recursion, backtracking Armijo line search) from `start` to the minimum. */
function lbfgs(f: Objective, o: SolveOptions): Solved {
  const tolerance = o.tolerance ?? TOLERANCE;
  const maxIterations = o.maxIterations ?? MAX_ITERATIONS;
  let p: Float64Array = o.start ? Float64Array.from(o.start) : new Float64Array(f.size);
  let { loss, grad } = f.evaluate(p);
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  let iterations = 0;
  while (iterations < maxIterations && maxAbs(grad) > tolerance) {
    // Direction −H·g from the last HISTORY steps, scaled by the newest curvature (or 1/|g| at the start).
    const q = Float64Array.from(grad);
    const alphas: number[] = [];
    for (let k = history.length - 1; k >= 0; k--) {
      const { s, y, rho } = history[k];
      const a = rho * dot(s, q);
      alphas[k] = a;
      for (let i = 0; i < q.length; i++) q[i] -= a * y[i];
    }
    const last = history[history.length - 1];
    const gamma = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(maxAbs(grad), 1e-12);
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let k = 0; k < history.length; k++) {
      const { s, y, rho } = history[k];
      const b = rho * dot(y, q);
      for (let i = 0; i < q.length; i++) q[i] += s[i] * (alphas[k] - b);
    }
    const slope = -dot(grad, q);
    if (!(slope < 0)) { history.length = 0; continue; } // not a descent direction: forget the curvature
    let t = 1;
    let next: Float64Array | null = null;
    let at = { loss, grad };
    for (let tries = 0; tries < 40; tries++, t /= 2) {
      const cand = p.map((v, i) => v - t * q[i]);
      const e = f.evaluate(cand);
      // Armijo; near the minimum the decrease falls below the float32 loss's resolution, where a step that
      // shrinks the gradient (more precise than the loss there) is taken instead.
      const flat = Math.abs(e.loss - loss) <= 1e-6 * Math.max(1, Math.abs(loss)) && maxAbs(e.grad) < maxAbs(grad);
      if (e.loss <= loss + 1e-4 * t * slope || flat) { next = cand; at = e; break; }
    }
    iterations++;
    if (!next) break; // no step improves anything float32 products can see: this is the minimum
    const s = next.map((v, i) => v - p[i]);
    const y = at.grad.map((v, i) => v - grad[i]);
    const sy = dot(s, y);
    if (sy > 1e-12) {
      history.push({ s, y, rho: 1 / sy });
      if (history.length > HISTORY) history.shift();
    }
    p = next;
    ({ loss, grad } = at);
  }
  return { params: p, loss, iterations, gradMax: maxAbs(grad) };
}

/** The minimum of the penalised loss on `rows` (those `select` keeps). */
export function solveHead(rows: HeadRows, o: SolveOptions, select?: (row: number) => boolean): Solved {
  const f = new Objective(rows, o.weightDecay, select);
  try {
    return lbfgs(f, o);
  } finally {
    f.dispose();
  }
}

/**
 * The held-out images: HELD_OUT of each class's training images, drawn from the seed; null when a class has a
 * single image (it could not be both fitted and held out).
 */
export function heldOutImages(imageLabels: Int32Array, classes: number, seed: number): Set<number> | null {
  const byClass = Array.from({ length: classes }, () => [] as number[]);
  imageLabels.forEach((label, image) => byClass[label].push(image));
  if (byClass.some((images) => images.length < 2)) return null;
  const out = new Set<number>();
  byClass.forEach((images, c) => {
    const rng = new Rng(mixSeed(seed, FOLD_STREAM, c));
    const count = Math.min(images.length - 1, Math.max(1, Math.round(images.length * HELD_OUT)));
    for (const image of rng.shuffle([...images]).slice(0, count)) out.add(image);
  });
  return out;
}

export interface HeadFit {
  solved: Solved;
  /** Unpenalised mean cross-entropy and top-1 of the solved head on every row. */
  train: { loss: number; top1: number };
  weightDecay: number;
  /** The held-out loss and top-1 of each weight decay tried (empty when none could be held out). */
  tried: { weightDecay: number; loss: number; top1: number }[];
  heldOutImages: number;
  /** One line for the run's log: what was solved and how λ was chosen. */
  summary: string;
}

/** λ chosen on the held-out fold by its loss (largest λ first, each solve warm-started from the last), then the head on every row. */
export function fitHead(rows: HeadRows, seed: number): HeadFit {
  const images = rows.images.reduce((m, i) => Math.max(m, i), -1) + 1; // no spread: rows may be more than a call takes
  const imageLabels = new Int32Array(images);
  rows.images.forEach((image, r) => { imageLabels[image] = rows.labels[r]; });
  const held = heldOutImages(imageLabels, rows.classes, seed);
  const tried: HeadFit['tried'] = [];
  let weightDecay = FALLBACK_WEIGHT_DECAY;
  if (held) {
    const evalHeld = new Objective(rows, 0, (r) => held.has(rows.images[r]));
    try {
      let start: Float64Array | undefined;
      for (const λ of WEIGHT_DECAYS) {
        const s = solveHead(rows, { weightDecay: λ, start, tolerance: SEARCH_TOLERANCE }, (r) => !held.has(rows.images[r]));
        start = s.params;
        const { loss, correct } = evalHeld.crossEntropy(s.params);
        tried.push({ weightDecay: λ, loss, top1: correct / evalHeld.rowCount });
      }
    } finally {
      evalHeld.dispose();
    }
    weightDecay = tried.reduce((best, t) => (t.loss < best.loss ? t : best)).weightDecay;
  }
  const solved = solveHead(rows, { weightDecay });
  const all = new Objective(rows, 0);
  const fitted = all.crossEntropy(solved.params);
  all.dispose();
  const choice = held
    ? `weight decay ${weightDecay} chosen on a held-out fold of ${held.size} of ${images} images (held-out loss ${tried.map((t) => `${t.weightDecay}: ${t.loss.toFixed(3)}`).join(', ')})`
    : `weight decay ${weightDecay} (a class has a single image: none could be held out to choose it)`;
  const summary = `quick fine-tune: the classifier solved to its optimum on ${rows.labels.length} cached feature rows by full-batch L-BFGS`
    + ` (${solved.iterations} iterations, loss ${solved.loss.toFixed(4)}, largest gradient ${solved.gradMax.toExponential(1)}); ${choice}; lr and epochs are not used (--lr or --epochs trains it by steps instead)`;
  return { solved, train: { loss: fitted.loss, top1: fitted.correct / rows.labels.length }, weightDecay, tried, heldOutImages: held?.size ?? 0, summary };
}
