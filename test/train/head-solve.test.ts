// The quick run's classifier solver: it reaches the minimum of the penalised loss (checked against plain
// float64 gradient descent run to the end), chooses its weight decay on a held-out fold that keeps an image's
// views together, and gives the same head for the same seed.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { FALLBACK_WEIGHT_DECAY, TOLERANCE, WEIGHT_DECAYS, fitHead, heldOutImages, solveHead, type HeadRows } from '../../src/train/head-solve.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); });

/** Gaussian blobs: `perClass` images per class, each with `views` rows (the second a slightly moved copy). */
function blobs(classes: number, dim: number, perClass: number, views: number, seed: number, spread = 1): HeadRows {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.uniform(-1, 1)));
  const n = classes * perClass;
  const x = new Float32Array(n * views * dim);
  const labels = new Int32Array(n * views);
  const images = new Int32Array(n * views);
  for (let image = 0; image < n; image++) {
    const c = image % classes;
    const base = centres[c].map((v) => v + spread * rng.uniform(-0.5, 0.5));
    for (let v = 0; v < views; v++) {
      const row = v * n + image;
      labels[row] = c;
      images[row] = image;
      base.forEach((b, d) => { x[row * dim + d] = b + 0.05 * v * rng.uniform(-1, 1); });
    }
  }
  return { x, labels, images, dim, classes };
}

/** Plain full-batch gradient descent in float64 on the same objective, for a long time: the reference minimum. */
function descend(rows: HeadRows, λ: number, steps: number, lr: number): Float64Array {
  const { dim, classes } = rows;
  const n = rows.labels.length;
  const p = new Float64Array(dim * classes + classes);
  const z = new Float64Array(classes);
  for (let s = 0; s < steps; s++) {
    const g = new Float64Array(p.length);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < classes; c++) {
        let v = p[dim * classes + c];
        for (let d = 0; d < dim; d++) v += rows.x[r * dim + d] * p[d * classes + c];
        z[c] = v;
      }
      const m = Math.max(...z);
      let sum = 0;
      for (let c = 0; c < classes; c++) { z[c] = Math.exp(z[c] - m); sum += z[c]; }
      for (let c = 0; c < classes; c++) {
        const diff = (z[c] / sum - (rows.labels[r] === c ? 1 : 0)) / n;
        for (let d = 0; d < dim; d++) g[d * classes + c] += rows.x[r * dim + d] * diff;
        g[dim * classes + c] += diff;
      }
    }
    for (let i = 0; i < dim * classes; i++) g[i] += λ * p[i];
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  }
  return p;
}

describe('the head solver', () => {
  it('reaches the minimum of the penalised cross-entropy: the one long gradient descent reaches', () => {
    const rows = blobs(3, 6, 12, 1, 5);
    const λ = 0.05;
    const solved = solveHead(rows, { weightDecay: λ, tolerance: 1e-6 });
    expect(solved.gradMax).toBeLessThan(1e-5);
    expect(solved.iterations).toBeLessThan(200);
    const reference = descend(rows, λ, 20_000, 0.5);
    let worst = 0;
    solved.params.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - reference[i])); });
    expect(worst).toBeLessThan(1e-3);
  });

  it('on separable rows a weaker penalty gives a larger weight and a lower training loss (no finite unpenalised optimum)', () => {
    const rows = blobs(2, 4, 10, 1, 8, 0.2);
    const strong = solveHead(rows, { weightDecay: 1e-1 });
    const weak = solveHead(rows, { weightDecay: 1e-3 });
    const norm = (p: Float64Array) => Math.hypot(...p.subarray(0, 8));
    expect(norm(weak.params)).toBeGreaterThan(norm(strong.params));
    expect(weak.loss).toBeLessThan(strong.loss);
    expect(weak.gradMax).toBeLessThan(1e-4);
  });
});

describe('choosing the weight decay', () => {
  it('holds out a fifth of each class, whole images (both views), the same for the same seed', () => {
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
    const held = heldOutImages(labels, 3, 4)!;
    expect(held.size).toBe(6);
    for (let c = 0; c < 3; c++) expect([...held].filter((i) => labels[i] === c).length).toBe(2);
    expect([...heldOutImages(labels, 3, 4)!]).toEqual([...held]);
    expect([...heldOutImages(labels, 3, 5)!]).not.toEqual([...held]);
    expect(heldOutImages(Int32Array.from([0, 0, 1]), 2, 4)).toBeNull();
  });

  it('tries every weight decay on the fold, keeps the lowest held-out loss, then solves on every row; deterministic', () => {
    const rows = blobs(3, 8, 10, 2, 3, 1.5);
    const a = fitHead(rows, 7);
    const b = fitHead(rows, 7);
    expect(a.tried.map((t) => t.weightDecay)).toEqual(WEIGHT_DECAYS);
    const best = a.tried.reduce((m, t) => (t.loss < m.loss ? t : m));
    expect(a.weightDecay).toBe(best.weightDecay);
    expect(a.heldOutImages).toBe(6);
    expect(a.solved.gradMax).toBeLessThanOrEqual(TOLERANCE);
    expect([...b.solved.params]).toEqual([...a.solved.params]);
    expect(a.summary).toMatch(/solved to its optimum on 60 cached feature rows by full-batch L-BFGS .* weight decay .* chosen on a held-out fold of 6 of 30 images/);
  });

  it('a class with a single image: the fallback weight decay, and the summary says why', () => {
    const rows = blobs(2, 4, 1, 1, 2);
    const fit = fitHead(rows, 1);
    expect(fit.weightDecay).toBe(FALLBACK_WEIGHT_DECAY);
    expect(fit.tried).toEqual([]);
    expect(fit.summary).toMatch(/a class has a single image/);
  });
});
