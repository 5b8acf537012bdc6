// Per-block latency timed by cuts (the webgpu path, inspect/profile-cuts.ts), run here on wasm where the answer is
// known: the same blocks, parts and layers as the synchronising profile, parts that make up their block exactly
// (a cut's time is the prefix's, and the last part ends where the block does), one cut per distinct boundary, no
// tensor left behind by the cut passes, and blocks that add up to the pass.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { processCpuMs } from '../../src/util/cpu-clock.ts';
import { createModel, PART_NAMES } from '../../src/model/index.ts';
import { profileModelByCuts } from '../../src/inspect/profile-cuts.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

describe('profileModelByCuts', () => {
  it('charges every block, part and layer from the cut times, and leaves no tensor behind', async () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10, seed: 0 });
    const before = tf.memory().numTensors;
    const p = await profileModelByCuts(model, { imageSize: 64, runs: 1, warmup: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(p.blocks.map((b) => b.name)).toEqual(model.blocks().map((b) => b.name));
    model.dispose();
    expect(p.blocks.every((b) => b.macs > 0 && b.ms >= 0)).toBe(true);
    expect(p.blocksMs).toBeCloseTo(sum(p.blocks.map((b) => b.ms)), 9);
    const vit = p.blocks.filter((b) => b.kind === 'mobilevit');
    expect(vit.map((b) => b.parts.find((x) => x.name === 'transformer')!.layers!.length)).toEqual([2, 4, 3]);
    for (const b of vit) {
      expect(b.parts.map((x) => x.name)).toEqual(PART_NAMES);
      expect(sum(b.parts.map((x) => x.ms))).toBeCloseTo(b.ms, 9);
      const t = b.parts.find((x) => x.name === 'transformer')!;
      expect(sum(t.layers!)).toBeLessThanOrEqual(t.ms + 1e-9);
    }
    // 13 block starts and ends, 18 part ends and 9 layer ends, less the 12 block inputs that are the previous
    // block's output and the 3 fusion outputs that are their block's output: the same prefix, timed once.
    expect(p.timing).toMatchObject({ method: 'cuts', syncs: 26 + 18 + 9 - 12 - 3 });
    expect(p.timing!.syncMs).toBeGreaterThanOrEqual(0);
  });

  it('adds the blocks up to the end-to-end pass (CPU time, best of three)', async () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10, seed: 0 });
    try {
      let best = Infinity;
      // 35 %: each profile restarts the pass once per boundary (38 for XXS), so its CPU time carries that much more
      // noise than one pass; under a parallel test suite the best of three measured up to 26 % (alone: within 15 %).
      // A bias in the method shows beyond it (clamping each run before the median: 40–44 %).
      for (let attempt = 0; attempt < 3 && best > 0.35; attempt++) {
        const p = await profileModelByCuts(model, { imageSize: 128, runs: 3, warmup: 1, clock: processCpuMs });
        best = Math.min(best, Math.abs(p.blocksMs - p.totalMs) / p.totalMs);
      }
      expect(best).toBeLessThanOrEqual(0.35);
    } finally {
      model.dispose();
    }
  }, 120_000);
});
