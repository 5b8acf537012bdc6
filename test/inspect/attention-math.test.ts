import { describe, expect, it } from 'vitest';
import {
  checkQuery, gridToPixels, headMatrix, queryAttention, rolloutRow, toRows, type BlockAttention,
} from '../../src/inspect/attention-math.ts';

/** A block over a rows×cols grid of 2×2 patches with `heads` heads; `fill(seq, head, i)` gives row i's weights. */
function makeBlock(rows: number, cols: number, heads: number, layers: number,
  fill: (layer: number, seq: number, head: number, i: number) => number[], batch = 1): BlockAttention {
  const n = rows * cols;
  const seqs = batch * 4;
  const arrays = Array.from({ length: layers }, (_, l) => {
    const w = new Float32Array(seqs * heads * n * n);
    for (let s = 0; s < seqs; s++) for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++)
      w.set(fill(l, s, h, i), ((s * heads + h) * n + i) * n);
    return w;
  });
  return { index: 0, name: 'stages.2.1', grid: { rows, cols, patch: [2, 2], featureSize: [rows * 2, cols * 2] },
    batch, heads, tokens: n, layers: arrays };
}

const oneHot = (n: number, j: number) => Array.from({ length: n }, (_, k) => (k === j ? 1 : 0));
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('queryAttention', () => {
  // Sequence s, head h: token i attends only to token (i + s + h) mod n, so each selector is visible.
  const rows = 3, cols = 4, n = 12;
  const shift = makeBlock(rows, cols, 2, 2, (l, s, h, i) => oneHot(n, (i + s + h + l) % n));

  it('picks the row of the query patch at the chosen pixel, head and layer', () => {
    // patch (1,2) = token 6; pixel (1,0) = offset 2 = sequence 2; head 1, layer 1 → token (6+2+1+1) % 12 = 10.
    const map = queryAttention(shift, { layer: 1, head: 1, patch: [1, 2], pixel: [1, 0] });
    expect(Array.from(map)).toEqual(oneHot(n, 10));
    expect(toRows(map, rows, cols)[2][2]).toBe(1);
  });

  it('averages heads and pixel positions into a probability map', () => {
    const map = queryAttention(shift, { layer: 0, head: 'mean', patch: [0, 0], pixel: 'mean' });
    // offsets 0..3 × heads 0..1 → targets 0+{0..3}+{0,1}: 0:1, 1:2, 2:2, 3:2, 4:1 out of 8.
    expect(Array.from(map).slice(0, 6)).toEqual([1 / 8, 2 / 8, 2 / 8, 2 / 8, 1 / 8, 0]);
    expect(sum(map)).toBeCloseTo(1, 12);
  });

  it('reads the requested sample of a batch', () => {
    const b = makeBlock(1, 2, 1, 1, (_l, s, _h, i) => oneHot(2, s >= 4 ? 1 - i : i), 2);
    expect(Array.from(queryAttention(b, { layer: 0, head: 0, patch: [0, 0], pixel: [0, 0], sample: 0 }))).toEqual([1, 0]);
    expect(Array.from(queryAttention(b, { layer: 0, head: 0, patch: [0, 0], pixel: [0, 0], sample: 1 }))).toEqual([0, 1]);
  });

  it('names the field that does not fit', () => {
    const q = { layer: 0, head: 0, patch: [0, 0] as [number, number], pixel: 'mean' as const };
    expect(() => checkQuery(shift, { ...q, layer: 2 })).toThrow(/layer 2 .*2 layers/);
    expect(() => checkQuery(shift, { ...q, head: 5 })).toThrow(/head 5/);
    expect(() => checkQuery(shift, { ...q, patch: [3, 0] })).toThrow(/patch 3,0 .*3×4/);
    expect(() => checkQuery(shift, { ...q, pixel: [0, 2] })).toThrow(/pixel 0,2/);
    expect(() => checkQuery(shift, { ...q, sample: 1 })).toThrow(/sample 1/);
  });
});

describe('rolloutRow', () => {
  /** Every row of the rollout, as one n×n array. */
  const rollout = (layers: Float64Array[], n: number) => Array.from({ length: n }, (_, t) => Array.from(rolloutRow(layers, n, t))).flat();

  it('of identity attention is the identity', () => {
    const n = 5;
    const eye = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
    expect(rollout([eye, eye, eye], n)).toEqual(Array.from(eye));
  });

  it('of uniform attention over L layers is 2^-L·I + (1 - 2^-L)·U', () => {
    const n = 4;
    const u = new Float64Array(n * n).fill(1 / n);
    const r = rollout([u, u, u], n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++)
      expect(r[i * n + j]).toBeCloseTo((i === j ? 1 / 8 : 0) + (7 / 8) / n, 12);
  });

  it('multiplies later layers on the left (Â_2 · Â_1)', () => {
    // Layer 1 sends everything to token 0, layer 2 sends everything to token 1 (n = 2).
    const to = (j: number) => Float64Array.from([0, 0, 0, 0].map((_, k) => (k % 2 === j ? 1 : 0)));
    // Â_1 = [[1, 0], [.5, .5]], Â_2 = [[.5, .5], [0, 1]]; Â_2·Â_1 = [[.75, .25], [.5, .5]].
    expect(rollout([to(0), to(1)], 2)).toEqual([0.75, 0.25, 0.5, 0.5]);
  });

  it('renormalises rows that do not sum to 1', () => {
    // A row summing to 2 (not a softmax): Â = (½A + ½I) / 1.5.
    const a = Float64Array.from([2, 0, 0, 1]);
    expect(Array.from(rolloutRow([a], 2, 0))).toEqual([1, 0]);
    const b = Float64Array.from([0, 2, 0, 1]);
    expect(Array.from(rolloutRow([b], 2, 0)).map((v) => +v.toFixed(12))).toEqual([+(0.5 / 1.5).toFixed(12), +(1 / 1.5).toFixed(12)]);
  });

  it('rows of a rollout query sum to 1', () => {
    const n = 6;
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const block = makeBlock(2, 3, 3, 3, () => {
      const row = Array.from({ length: n }, rand);
      const s = sum(row);
      return row.map((v) => v / s);
    });
    for (const head of [0, 2, 'mean'] as const) {
      const map = queryAttention(block, { layer: 'rollout', head, patch: [1, 1], pixel: 'mean' });
      expect(sum(map)).toBeCloseTo(1, 6);
      expect(Math.min(...map)).toBeGreaterThan(0);
    }
  });

  it('headMatrix mean is the mean of the heads', () => {
    const block = makeBlock(1, 2, 2, 1, (_l, _s, h) => (h === 0 ? [1, 0] : [0, 1]));
    expect(Array.from(headMatrix(block, 0, 0, 'mean'))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe('gridToPixels', () => {
  it('spreads each cell over the pixels it covers and keeps the total', () => {
    const px = gridToPixels([0.5, 0.25, 0.25, 0], 2, 2, 4, 6);
    expect(px[0]).toBeCloseTo(0.5 / 6); // cell (0,0) covers 2×3 pixels
    expect(px[5]).toBeCloseTo(0.25 / 6);
    expect(px[3 * 6]).toBeCloseTo(0.25 / 6);
    expect(px[3 * 6 + 5]).toBe(0);
    expect(sum(px)).toBeCloseTo(1, 6);
  });

  it('handles sizes that do not divide evenly', () => {
    const map = [0.1, 0.2, 0.3, 0.15, 0.15, 0.1];
    const px = gridToPixels(map, 2, 3, 7, 11);
    expect(sum(px)).toBeCloseTo(1, 6);
    expect(() => gridToPixels(map, 2, 3, 1, 11)).toThrow(/smaller than the 2×3 grid/);
  });
});
