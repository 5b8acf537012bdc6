// The effective receptive field and the paper's claim it shows: local before the first MobileViT block,
// spanning the image right after it (XXS at 128 px, timm's init: zero-initialised last BN per residual block).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel, type Model } from '../../src/model/index.ts';
import { imageTensor, randomImage } from '../../src/inspect/image.ts';
import { fieldStats, receptiveField, receptiveFields, spatialBlocks } from '../../src/inspect/receptive-field.ts';

describe('fieldStats', () => {
  it('normalises to a maximum of 1 and counts pixels at ≥ 1% and ≥ 1e-4 of it', () => {
    // Relative to the maximum 4: 1, 0.5, 0.25, 0.02 | 0.009, 2e-4 | 5e-5, 0.
    const field = Float32Array.from([4, 2, 1, 0.08, 0.036, 8e-4, 2e-4, 0]);
    expect(fieldStats(field)).toEqual({ coverage: 4 / 8, support: 6 / 8 });
    expect(field[0]).toBe(1);
    expect(field[1]).toBe(0.5);
  });

  it('reports an input-independent output as zero coverage and support', () => {
    const field = new Float32Array(4);
    expect(fieldStats(field)).toEqual({ coverage: 0, support: 0 });
  });
});

describe('receptiveField (XXS, 128 px, wasm with the project\'s gradient kernels)', () => {
  let model: Model;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    await initBackend('wasm');
    model = createModel('mobilevit_xxs', { numClasses: 10, seed: 0 });
    x = imageTensor(randomImage(128, 0));
  });
  afterAll(() => {
    x.dispose();
    model.dispose();
  });
  const block = (name: string) => spatialBlocks(model).find((b) => b.name === name)!;

  it('is local before the first MobileViT block, global right after it, and covers the image after the last', () => {
    const before = tf.memory().numTensors;
    const [local, first, last] = receptiveFields(model, x, ['stages.2.0', 'stages.2.1', 'stages.4.1'].map(block));
    expect(tf.memory().numTensors).toBe(before);

    // stem (3) + stages.1.0 depthwise s2 (+4) + stages.2.0 depthwise s2 (+8) = a 15×15 window at stride 8;
    // the residual blocks in between start as the identity (zero-initialised last BN).
    expect(local.featureSize).toEqual([16, 16]);
    expect(local.location).toEqual([8, 8]);
    const rows: number[] = [], cols: number[] = [];
    local.field.forEach((v, i) => { if (v > 0) { rows.push(Math.floor(i / 128)); cols.push(i % 128); } });
    expect([Math.min(...rows), Math.max(...rows), Math.min(...cols), Math.max(...cols)]).toEqual([57, 71, 57, 71]);
    expect(local.support).toBeCloseTo(225 / 128 ** 2, 6);

    // Right after the first MobileViT block every pixel contributes, most of them weakly.
    expect(first.support).toBeGreaterThan(0.99);
    expect(first.coverage).toBeGreaterThan(0.08);
    expect(first.coverage).toBeLessThan(0.25);

    expect(last.coverage).toBeGreaterThan(0.95);
    expect(last.support).toBe(1);
    expect(Math.max(...last.field)).toBe(1);
  });

  it('measures a chosen location and names what does not fit', () => {
    const corner = receptiveField(model, x, block('stem'), [0, 0]);
    expect(corner.location).toEqual([0, 0]);
    // The stem's 3×3 stride-2 conv at output (0,0) sees input rows/cols -1..1: a 2×2 corner.
    expect(corner.support).toBeCloseTo(4 / 128 ** 2, 8);
    expect(() => receptiveField(model, x, block('stages.4.1'), [4, 0])).toThrow(/location 4,0 is outside the 4×4 feature map of block 10 \(stages\.4\.1\)/);
    const head = model.blocks().find((b) => b.kind === 'head')!;
    expect(() => receptiveField(model, x, head)).toThrow(/classifier/);
  });
});
