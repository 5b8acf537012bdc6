// Per-block latency: every block in order with its params and MACs, MobileViT blocks split into parts
// that add up to the block, and the sum of blocks close to the end-to-end latency.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { processCpuMs } from '../../src/util/cpu-clock.ts';
import { createModel, PART_NAMES, type VariantName } from '../../src/model/index.ts';
import { profileModel, type Profile } from '../../src/inspect/profile.ts';
import { median } from '../../src/util/median.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

/**
 * Whether the probe's boundaries cover the whole pass without distorting it. On a shared CI machine wall
 * time mostly measures the other processes, so this uses the CPU-time clock; a real mismatch (a block
 * left out, the probe slowing the pass) shows in every attempt, so the best of five is checked.
 */
function profileWithBestAgreement(variant: VariantName, imageSize: number): { profile: Profile; gap: number } {
  const model = createModel(variant, { numClasses: 10, seed: 0 });
  try {
    let best: { profile: Profile; gap: number } | undefined;
    // Five attempts: MobileNetV2's pass at 256 px is ~30 ms since its 1×1 convolutions run as products, and a
    // clean-clone CI run under the parallel suite measured 16.6 % in the best of three.
    for (let attempt = 0; attempt < 5 && !(best && best.gap <= 0.15); attempt++) {
      const profile = profileModel(model, { imageSize, runs: 7, warmup: 2, clock: processCpuMs });
      // The probe's own cost (a read-back at every boundary, measured alone by the profile) is not the pass's.
      const instrumentation = profile.timing?.method === 'sync' ? profile.timing.syncMs * profile.timing.syncs : 0;
      const gap = Math.abs(profile.blocksMs - instrumentation - profile.totalMs) / profile.totalMs;
      if (!best || gap < best.gap) best = { profile, gap };
    }
    return best!;
  } finally {
    model.dispose();
  }
}

describe('profileModel', () => {
  it('times every block in order, MobileViT blocks part by part and layer by layer', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10, seed: 0 });
    const before = tf.memory().numTensors;
    // One measured run: its parts are charged boundary to boundary, so they must make up the block exactly
    // (up to the last part's end and the block's end, which are the same tensor).
    const p = profileModel(model, { imageSize: 64, runs: 1, warmup: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(p.blocks.map((b) => b.name)).toEqual(model.blocks().map((b) => b.name));
    expect(p.params).toBe(model.paramCount());
    model.dispose();
    expect(sum(p.blocks.map((b) => b.params))).toBe(p.params);
    expect(p.blocks.every((b) => b.macs > 0 && b.ms > 0)).toBe(true);
    expect(p.macs).toBe(sum(p.blocks.map((b) => b.macs)));
    expect(p.blocksMs).toBeCloseTo(sum(p.blocks.map((b) => b.ms)), 9);

    const vit = p.blocks.filter((b) => b.kind === 'mobilevit');
    expect(vit.map((b) => b.parts.find((x) => x.name === 'transformer')!.layers!.length)).toEqual([2, 4, 3]);
    for (const b of vit) {
      expect(b.parts.map((x) => x.name)).toEqual(PART_NAMES);
      const parts = sum(b.parts.map((x) => x.ms));
      expect(parts).toBeLessThanOrEqual(b.ms);
      expect(parts).toBeGreaterThan(b.ms * 0.95 - 0.05);
      const t = b.parts.find((x) => x.name === 'transformer')!;
      expect(sum(t.layers!)).toBeLessThanOrEqual(t.ms);
    }
    expect(p.blocks.filter((b) => b.kind !== 'mobilevit').every((b) => b.parts.length === 0)).toBe(true);
    expect(p).toMatchObject({ variant: 'mobilevit_xxs', backend: 'wasm', imageSize: 64, batch: 1, runs: 1 });
  });

  it('sums the block medians to within 15% of the end-to-end median (CPU time), for MobileViT and MobileNetV2', () => {
    for (const variant of ['mobilevit_xxs', 'mobilenet_v2'] as const) {
      // 256 px: at 128 px a pass is ~30 ms and the ~35 synchronisation points come near 15 % (their idle cost is
      // taken out, but under load a sync costs more than idle).
      const { profile, gap } = profileWithBestAgreement(variant, 256);
      expect(profile.blocks[0].name).toBe(variant === 'mobilenet_v2' ? 'conv_stem' : 'stem');
      expect(gap, `${variant}: blocks ${profile.blocksMs.toFixed(2)} ms vs forward ${profile.totalMs.toFixed(2)} ms`).toBeLessThanOrEqual(0.15);
    }
  });

  it('multiplies the work by the batch', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    const batched = profileModel(model, { imageSize: 32, batch: 2, runs: 1, warmup: 0 });
    const single = profileModel(model, { imageSize: 32, batch: 1, runs: 1, warmup: 0 });
    model.dispose();
    expect(batched.batch).toBe(2);
    expect(batched.macs).toBe(2 * single.macs);
  });

  it('refuses bad settings by name', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    expect(() => profileModel(model, { imageSize: 16 })).toThrow(/image size must be an integer ≥ 32, got 16/);
    expect(() => profileModel(model, { runs: 0 })).toThrow(/runs must be an integer ≥ 1/);
    expect(() => profileModel(model, { batch: 1.5 })).toThrow(/batch/);
    model.dispose();
  });

  it('median is the middle value', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow();
  });
});
