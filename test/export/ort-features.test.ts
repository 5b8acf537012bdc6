// A quick run's backbone features on onnxruntime: the same rows as Model.features on TF.js within 1e-4 (both
// families, several sizes), the same rows on any number of worker sessions, a feature bank built on either
// runtime gives the same rows, and the runtime rule: the faster wins, onnxruntime only with parity, measured once
// per machine and kept.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DEFAULT_AUGMENT } from '../../src/data/augment.ts';
import { buildEvalSet } from '../../src/data/loader.ts';
import { scanDataset } from '../../src/data/scan.ts';
import { OrtFeatures } from '../../src/export/ort-features.ts';
import { OrtWorkers } from '../../src/export/ort-workers.ts';
import { FeatureBank } from '../../src/train/head-only.ts';
import { LocalDevice } from '../../src/device/device.ts';
import { RUNTIMES_FILE, runtimeKey } from '../../src/device/runtime-file.ts';
import { MEASURE_WORTH_PIXELS, chooseRuntime, openFeatureSource } from '../../src/train/feature-runtime.ts';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';
import { tinyDataset } from '../train/helpers.ts';
import { randomImages, randomModel } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('backbone features on onnxruntime', () => {
  for (const [variant, size] of [['mobilevit_xxs', 64], ['mobilevit_xxs', 72], ['mobilevit_xs', 96], ['mobilenet_v2', 64]] as const) {
    it(`${variant} at ${size} px: the rows Model.features gives on TF.js, within 1e-4`, async () => {
      const model = randomModel(variant, 7, 3);
      const x = randomImages(3, size, 5);
      const t = tf.tensor4d(x, [3, size, size, 3]);
      const ref = model.features(t, { training: false });
      const expected = ref.dataSync().slice();
      tf.dispose([t, ref]);
      const ort = await OrtFeatures.create(model, size, 1);
      const rows = await ort.features(x, 3);
      await ort.dispose();
      expect(rows.length).toBe(expected.length);
      expect(maxAbs(expected)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(rows, expected)).toBeLessThan(1e-4 * Math.max(1, maxAbs(expected)));
      model.dispose();
    });
  }

  it('on several worker threads, a batch cut across their sessions gives the rows of one session; a model they cannot open is one clear error', async () => {
    const model = randomModel('mobilevit_xxs', 7, 3);
    const x = randomImages(5, 64, 9);
    const one = await OrtFeatures.create(model, 64, 1);
    const three = await OrtFeatures.create(model, 64, 3);
    expect(three.threads).toBe(3);
    const [a, b] = [await one.features(x, 5), await three.features(x, 5)]; // parts of 2, 1 and 2 images
    const c = await three.features(x, 2); // fewer images than workers: one image each
    await Promise.all([one.dispose(), three.dispose()]);
    expect(b.length).toBe(5 * model.spec.numFeatures);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6 * Math.max(1, maxAbs(a)));
    expect(maxAbsDiff(a.subarray(0, c.length), c)).toBeLessThan(1e-6 * Math.max(1, maxAbs(a)));
    await expect(OrtWorkers.start(new Uint8Array([1, 2, 3]), { input: 'pixels', outputs: [{ name: 'features', perImage: true }], threads: 2 })).rejects.toThrow(/^onnxruntime could not open the model: /);
    model.dispose();
  });

  it('a feature bank built on onnxruntime holds the rows one built on TF.js holds, and says where they were computed', async () => {
    const data = await tinyDataset({ perClass: 3, layout: 'split', valPerClass: 2 });
    const scan = await scanDataset(data, { valFraction: 0.2, seed: 1 });
    const evalSet = await buildEvalSet(scan.val, 32, { cropPct: 1 });
    const trainViews = await buildEvalSet(scan.train, 32, { cropPct: 1 });
    const model = randomModel('mobilevit_xxs', 4, 2);
    const opts = { size: 32, augment: { ...DEFAULT_AUGMENT, scale: [1, 1] as [number, number] }, seed: 1 };
    const notes: string[] = [];
    const onOrt = await FeatureBank.build(model, trainViews, evalSet, { ...opts, runtime: 'onnxruntime', onNote: (n) => notes.push(n) });
    const onTfjs = await FeatureBank.build(model, trainViews, evalSet, { ...opts, runtime: 'tfjs' });
    expect(notes.join('\n')).toMatch(/backbone features on onnxruntime-node on \d+ threads? \(asked for\)/);
    const all = scan.train.map((_, i) => i);
    for (const v of [0, 1]) {
      const [a, b] = [onOrt.tensor(v, all), onTfjs.tensor(v, all)];
      expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-4 * Math.max(1, maxAbs(b.dataSync())));
      tf.dispose([a, b]);
    }
    const [ea, eb] = [await onOrt.evaluate(model, 8, scan.classes), await onTfjs.evaluate(model, 8, scan.classes)];
    expect(ea.loss).toBeCloseTo(eb.loss, 4);
    model.dispose();
  });
});

describe('which runtime computes the features', () => {
  it('the faster one, and TF.js when onnxruntime disagrees beyond 1e-4', () => {
    expect(chooseRuntime({ tfjs: 40, onnxruntime: 9 }, 1e-6).runtime).toBe('onnxruntime');
    expect(chooseRuntime({ tfjs: 8, onnxruntime: 9 }, 1e-6).runtime).toBe('tfjs');
    const bad = chooseRuntime({ tfjs: 40, onnxruntime: 9 }, 3e-3);
    expect(bad.runtime).toBe('tfjs');
    expect(bad.reason).toMatch(/differ from TF.js's by 3.0e-3/);
    expect(chooseRuntime({ tfjs: 40, onnxruntime: 9 }, NaN).runtime).toBe('tfjs');
  });

  it("'auto' measures once per machine, model and size, keeps the choice, and the next run reads it", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'runtimes-')), RUNTIMES_FILE);
    const model = randomModel('mobilevit_xxs', 3, 4);
    const notes: string[] = [];
    const device = new LocalDevice('wasm'); // TF.js's side: the run's device, here this process
    const first = await openFeatureSource(model, 64, { device, pixels: MEASURE_WORTH_PIXELS, env: {}, file, onNote: (n) => notes.push(n) });
    await first.close();
    const kept = JSON.parse(readFileSync(file, 'utf8')).entries;
    expect(kept).toHaveLength(1);
    expect(kept[0].key).toBe(runtimeKey('mobilevit_xxs', 64, 'wasm')); // keyed by the device TF.js ran on
    expect(kept[0].runtime).toBe(first.runtime);
    expect(kept[0].msPerImage.tfjs).toBeGreaterThan(0);
    expect(kept[0].msPerImage.onnxruntime).toBeGreaterThan(0);
    expect(notes.at(-1)).toMatch(/measured faster: .* ms\/image on onnxruntime, .* on TF.js at 64 px; kept for this machine/);
    const second = await openFeatureSource(model, 64, { device, pixels: MEASURE_WORTH_PIXELS, env: {}, file, onNote: (n) => notes.push(n) });
    await second.close();
    expect(second.runtime).toBe(first.runtime);
    expect(JSON.parse(readFileSync(file, 'utf8')).entries[0].measuredAt).toBe(kept[0].measuredAt);
    // Work too small to pay for a measurement: TF.js on the device, nothing measured, and said; a bad override is one clear error.
    const small = await openFeatureSource(model, 64, { device, pixels: MEASURE_WORTH_PIXELS - 1, env: {}, file, onNote: (n) => notes.push(n) });
    expect(small.runtime).toBe('tfjs');
    expect(notes.at(-1)).toBe('backbone features on TF.js on wasm in this process (too little work to measure the runtimes)');
    await small.close();
    await expect(openFeatureSource(model, 64, { device, pixels: MEASURE_WORTH_PIXELS, env: { MOBILEVIT_INFERENCE_RUNTIME: 'gpu' }, file })).rejects.toThrow(/MOBILEVIT_INFERENCE_RUNTIME must be one of auto, tfjs, onnxruntime, got "gpu"/);
    model.dispose();
  });
});
