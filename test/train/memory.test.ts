// The one memory estimate that training and inspection plan with (src/train/memory.ts): it is not below what a
// pass really holds on wasm, it grows with the attention's N² (what made a 1024-px request abort the heap), and
// a pass over the heap's limit is refused in one line that names the limit and what to lower.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel } from '../../src/model/index.ts';
import { Trainer } from '../../src/optim/trainer.ts';
import { ADAMW } from '../../src/train/defaults.ts';
import {
  WASM32_HEAP_BYTES, attentionBytes, imagesPerPass, imagesThatFit, isWasmMemoryFault, passBudget, passBytes,
} from '../../src/model/memory.ts';
import { batchThatFits, checkPassBudget } from '../../src/device/pass-budget.ts';
import { StudioError } from '../../src/protocol/contract.ts';
import { evaluateModel, runTraining } from '../../src/train/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { FILES, readEvents } from '../../src/run/index.ts';
import { tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const GB = 2 ** 30;

/** Peak tensor bytes of `fn` beyond what was held before it. */
async function peakOf(fn: () => Promise<void> | void): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(async () => { await fn(); });
  return info.peakBytes - before;
}

describe('the memory estimate', () => {
  it('is at or above the measured peak of an inference pass, and not far above it', async () => {
    for (const [variant, size, images] of [['mobilevit_xxs', 384, 1], ['mobilevit_xs', 96, 3], ['mobilevit_s', 64, 2], ['mobilenet_v2', 160, 2]] as const) {
      const model = createModel(variant, { numClasses: 10, seed: 0 });
      const x = tf.zeros([images, size, size, 3]) as tf.Tensor4D;
      const peak = await peakOf(() => model.forward(x).dispose());
      x.dispose();
      model.dispose();
      const estimate = passBytes({ variant, size, images, kind: 'infer' });
      expect(estimate, `${variant} at ${size} px × ${images}`).toBeGreaterThanOrEqual(peak);
      expect(estimate, `${variant} at ${size} px × ${images}`).toBeLessThan(2.5 * peak);
    }
  });

  it('is at or above the measured peak of a training step', async () => {
    const [variant, size, images] = ['mobilevit_xxs', 96, 3] as const;
    const model = createModel(variant, { numClasses: 10, seed: 0 });
    const trainer = new Trainer(model, { adamw: { ...ADAMW, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: null, emaDecay: null });
    const x = tf.zeros([images, size, size, 3]) as tf.Tensor4D;
    const step = () => trainer.step(x, new Int32Array(images), 1e-4, () => () => 0.5).then(() => undefined);
    await step(); // the optimizer's moments exist from here on, as in a run
    const peak = await peakOf(step);
    x.dispose();
    trainer.optimizer.dispose?.();
    model.dispose();
    const estimate = passBytes({ variant, size, images, kind: 'train' });
    expect(estimate).toBeGreaterThanOrEqual(peak);
    // The training figures are kept above today's peaks on purpose (model/memory.ts: they set every run's pass
    // size); 3× bounds how far the kept figures may drift from a step that later changes made lighter.
    expect(estimate).toBeLessThan(3 * peak);
  });

  it("grows with the attention's N²: four times the side, 256 times the attention", () => {
    expect(attentionBytes('mobilevit_xxs', 1024) / attentionBytes('mobilevit_xxs', 256)).toBeCloseTo(256, 0);
    expect(attentionBytes('mobilenet_v2', 1024)).toBe(0);
    // One 1024-px image's inference needs more than the whole wasm heap: the request that aborted it.
    expect(passBytes({ variant: 'mobilevit_xxs', size: 1024, images: 1, kind: 'infer' })).toBeGreaterThan(WASM32_HEAP_BYTES);
    expect(passBytes({ variant: 'mobilevit_s', size: 256, images: 8, kind: 'infer' })).toBeCloseTo(8 * passBytes({ variant: 'mobilevit_s', size: 256, images: 1, kind: 'infer' }) - 7 * passBytes({ variant: 'mobilevit_s', size: 256, images: 0, kind: 'infer' }), -3);
  });
});

describe('the budget', () => {
  it("is wasm's 4 GB heap less what is in use, less headroom; other backends have no ceiling", () => {
    expect(passBudget('wasm')).toBeCloseTo(2.5 * GB, -6);
    expect(passBudget('wasm', 2 * GB)).toBeCloseTo(1.25 * GB, -6);
    expect(passBudget('wasm', 5 * GB)).toBe(0);
    expect(passBudget('tensorflow')).toBe(Infinity);
    expect(imagesThatFit(passBudget('webgpu'), 'mobilevit_s', 1024, 'infer')).toBe(Infinity);
  });

  it('slices training batches on wasm by the same estimate, one image at least', () => {
    const per = imagesPerPass('wasm', 'mobilevit_xxs', 256);
    expect(passBytes({ variant: 'mobilevit_xxs', size: 256, images: per, kind: 'train' })).toBeLessThanOrEqual(passBudget('wasm'));
    expect(passBytes({ variant: 'mobilevit_xxs', size: 256, images: per + 1, kind: 'train' })).toBeGreaterThan(passBudget('wasm'));
    expect(imagesPerPass('wasm', 'mobilevit_s', 1024)).toBe(1);
    expect(imagesPerPass('tensorflow', 'mobilevit_s', 1024)).toBe(Infinity);
  });

  it('refuses a pass over the limit in one line naming the limit and the size that fits', () => {
    const heap = { backend: 'wasm', inUseBytes: 100 * 2 ** 20 };
    const refusal = (() => {
      try {
        checkPassBudget({ what: 'inspect.predict', variant: 'mobilevit_xxs', size: 1024, images: 1, kind: 'infer' }, heap);
      } catch (e) {
        return e as StudioError;
      }
      throw new Error('not refused');
    })();
    expect(refusal).toBeInstanceOf(StudioError);
    expect(refusal.code).toBe('failed');
    expect(refusal.message).not.toContain('\n');
    const m = /^inspect\.predict of mobilevit_xxs at 1024 px needs about (\d+) MB, over the wasm backend's limit of (\d+) MB \(its 4 GB heap, 100 MB in use, less room to grow\): lower the image size to at most (\d+) px/.exec(refusal.message);
    expect(m, refusal.message).not.toBeNull();
    const [need, limit, fits] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(need).toBeGreaterThan(limit);
    expect(limit * 2 ** 20).toBeCloseTo(passBudget('wasm', heap.inUseBytes), -7);
    // The size it names fits, the next step up does not.
    expect(() => checkPassBudget({ what: 'x', variant: 'mobilevit_xxs', size: fits, images: 1, kind: 'infer' }, heap)).not.toThrow();
    expect(() => checkPassBudget({ what: 'x', variant: 'mobilevit_xxs', size: fits + 32, images: 1, kind: 'infer' }, heap)).toThrow();
    expect(refusal.details).toMatchObject({ limitBytes: expect.any(Number), neededBytes: expect.any(Number) });
  });

  it('names the batch that fits, and counts what the heap holds already', () => {
    const batchPass = { what: 'inspect.profile', variant: 'mobilevit_s' as const, size: 256, images: 64, kind: 'infer' as const };
    expect(() => checkPassBudget(batchPass, { backend: 'wasm', inUseBytes: 0 })).toThrow(/× batch 64 .*: lower the batch to at most \d+ or the image size to at most \d+ px/);
    const small = { what: 'inspect.predict', variant: 'mobilevit_s' as const, size: 512, images: 1, kind: 'infer' as const };
    expect(() => checkPassBudget(small, { backend: 'wasm', inUseBytes: 0 })).not.toThrow();
    expect(() => checkPassBudget(small, { backend: 'wasm', inUseBytes: 3.8 * GB })).toThrow(/3892 MB in use/);
    expect(() => checkPassBudget(batchPass, { backend: 'tensorflow', inUseBytes: 0 })).not.toThrow();
  });

  it('plans a segmentation or detection pass on its backbone classifier, naming the network', () => {
    const heap = { backend: 'wasm', inUseBytes: 0 };
    const refusal = (() => {
      try {
        checkPassBudget({ what: 'attention', variant: 'deeplabv3_mobilevit_xs', size: 1024, images: 1, kind: 'infer' }, heap);
      } catch (e) {
        return e as StudioError;
      }
      throw new Error('not refused');
    })();
    expect(refusal.message).toMatch(/^attention of deeplabv3_mobilevit_xs at 1024 px needs about \d+ MB, over the wasm backend's limit/);
    expect(refusal.details).toMatchObject({ neededBytes: Math.round(passBytes({ variant: 'mobilevit_xs', size: 1024, images: 1, kind: 'infer' })) });
    const evaluation = { what: 'evaluation', size: 512, images: 64, kind: 'infer' as const };
    const fits = batchThatFits({ ...evaluation, variant: 'mobilevit_s' }, heap);
    expect(fits).toBeLessThan(64);
    expect(batchThatFits({ ...evaluation, variant: 'ssdlite_mobilevit_s' }, heap)).toBe(fits);
  });

  it('tells a wasm heap fault from an ordinary error', () => {
    for (const m of ['RuntimeError: memory access out of bounds', 'Aborted(). Build with -sASSERTIONS for more info.', 'table index is out of bounds', 'std::bad_alloc']) {
      expect(isWasmMemoryFault(new Error(m)), m).toBe(true);
    }
    expect(isWasmMemoryFault(new WebAssembly.RuntimeError('unreachable'))).toBe(true);
    expect(isWasmMemoryFault(new Error('ENOENT: no such file'))).toBe(false);
    expect(isWasmMemoryFault(new Error("inspect.predict needs about 9000 MB, over the wasm backend's limit"))).toBe(false);
  });
});

describe('training', () => {
  it('refuses, before any step, a size where not even one image fits a pass on wasm', async () => {
    const { dir } = tinyRun(await tinyDataset({ classes: 2, perClass: 4 }), { variant: 'mobilevit_s', imageSize: 1024 });
    const outcome = await runTraining(dir);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^training of mobilevit_s at 1024 px needs about \d+ MB, over the wasm backend's limit of \d+ MB .*: lower the image size to at most \d+ px/);
    const types = readEvents(join(dir, FILES.metrics)).events.map((e) => e.type);
    expect(types).toContain('failed');
    expect(types).not.toContain('started');
  });
});

describe('evaluation', () => {
  it('cuts its batches to what fits the heap, with the same results, and refuses when one image does not fit', async () => {
    const data = await tinyDataset({ classes: 10, perClass: 2, size: 48 });
    const base = { weights: fixture('mobilevit_xxs_256_b2_c10.weights.safetensors'), variant: 'mobilevit_xxs', data, imageSize: 64, batchSize: 32 };
    // A heap with room for three 64-px images at a time.
    const pass = { what: 'evaluation', variant: 'mobilevit_xxs' as const, size: 64, images: 32, kind: 'infer' as const };
    const tight = { backend: 'wasm', inUseBytes: WASM32_HEAP_BYTES - (passBytes({ ...pass, images: 3 }) + 1e6) / 0.625 };
    expect(batchThatFits(pass, tight)).toBe(3);
    expect(batchThatFits(pass, { backend: 'wasm', inUseBytes: 0 })).toBe(32);
    const whole = await evaluateModel(base);
    const cut = await evaluateModel({ ...base, heap: tight });
    expect(cut.count).toBe(20);
    expect(cut.confusion).toEqual(whole.confusion);
    expect(cut.loss).toBeCloseTo(whole.loss, 4);
    await expect(evaluateModel({ ...base, heap: { backend: 'wasm', inUseBytes: WASM32_HEAP_BYTES } }))
      .rejects.toThrow(/^evaluation of mobilevit_xxs at 64 px needs about \d+ MB, over the wasm backend's limit of 0 MB/);
  });
});
