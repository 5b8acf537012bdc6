// Quick fine-tuning (headOnly): features of the frozen backbone computed once give exactly the head that
// training on uncached forward passes gives; a run keeps its labels in the weights so the next fine-tune knows
// whether the classifier still fits; and a transfer task reaches a useful accuracy in seconds.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { ParallelDevice } from '../../src/device/parallel.ts';
import { DEFAULT_AUGMENT, augmentedPixels, drawAugmentation } from '../../src/data/augment.ts';
import { evalTransformBytes } from '../../src/data/eval-transform.ts';
import { writeUnitFloats } from '../../src/data/pixels.ts';
import { buildEvalSet, buildTrainSet } from '../../src/data/loader.ts';
import { planEpoch } from '../../src/data/sampler.ts';
import { scanDataset } from '../../src/data/scan.ts';
import { createModel, type Model } from '../../src/model/index.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { stateDict } from '../../src/model/weights.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES } from '../../src/run/index.ts';
import { evaluateSet } from '../../src/train/evaluate.ts';
import {
  FeatureBank, headOnlyView, loadForFineTune, mirrorImages, viewAugment, viewsFor, wholeImage, type FeatureBankOptions, type FeatureTraining,
} from '../../src/train/head-only.ts';
import { runTraining } from '../../src/train/index.ts';
import { Trainer } from '../../src/optim/trainer.ts';
import { mixSeed } from '../../src/util/random.ts';
import { hueDataset } from '../helpers/dataset.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { tinyDataset, tinyRun } from './helpers.ts';

/**
 * The reference path, without the bank: the features of `indices` under `epoch`'s view computed now, with a
 * full backbone pass over freshly augmented images (the bank must give the same rows).
 */
async function uncachedFeatures(model: Model, training: FeatureTraining, indices: ArrayLike<number>, epoch: number, opts: FeatureBankOptions): Promise<tf.Tensor4D> {
  const views = opts.views ?? viewsFor(opts.augment);
  const view = epoch % views;
  const size = opts.size;
  const pixels = size * size * 3;
  const x = new Float32Array(indices.length * pixels);
  for (let j = 0; j < indices.length; j++) {
    if (wholeImage(opts.augment) && 'images' in training) {
      // The image's evaluation view, one at a time, mirrored for view 1.
      writeUnitFloats(training.images[indices[j]], x, j * pixels, null);
      if (view === 1) mirrorImages(x.subarray(j * pixels, (j + 1) * pixels), 1, size);
      continue;
    }
    if (!('cache' in training)) throw new Error('random views need the training set');
    const img = training.cache.get(indices[j]);
    const aug = drawAugmentation(viewAugment(opts.augment, view), opts.seed, view, indices[j], img.width, img.height);
    writeUnitFloats(await augmentedPixels(img, size, aug), x, j * pixels, aug.jitter);
  }
  // The backbone's inference pass in this thread, as the bank's rows [n, 1, 1, features] (tidy frees the rest).
  return tf.tidy(() => model.features(tf.tensor4d(x, [indices.length, size, size, 3]), { training: false })
    .reshape([indices.length, 1, 1, model.spec.numFeatures]) as tf.Tensor4D);
}

beforeAll(async () => { await initBackend('wasm'); });

describe('the feature bank', () => {
  it('cached features train the same head as uncached forward passes, and evaluate as a full forward pass does', async () => {
    const data = await tinyDataset({ perClass: 6, layout: 'split', valPerClass: 3 });
    const scan = await scanDataset(data, { valFraction: 0.2, seed: 1 });
    const trainSet = await buildTrainSet(scan.train, { maxTrainSize: 32 });
    const evalSet = await buildEvalSet(scan.val, 32, { cropPct: 1 });
    const opts = { size: 32, augment: { ...DEFAULT_AUGMENT, scale: [0.3, 1] as [number, number], colorJitter: 0.2 }, seed: 3 };
    const a = createModel('mobilevit_xxs', { numClasses: 4, seed: 7 });
    const b = createModel('mobilevit_xxs', { numClasses: 4, seed: 7 });
    // Built on the run's device, here wasm-workers of two threads (device/parallel.ts), checked below against
    // single-thread passes in this process.
    const notes: string[] = [];
    const workers = await ParallelDevice.open(2);
    let bank: FeatureBank;
    try {
      bank = await FeatureBank.build(a, trainSet, evalSet, { ...opts, device: workers, onNote: (n) => notes.push(n) });
    } finally {
      await workers.close();
    }
    expect(notes).toEqual(['backbone features on TF.js on wasm-workers in 2 worker threads of this process (2 threads, data parallel) (too little work to measure the runtimes)']);
    expect(bank.views).toBe(2);
    const settings = { adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null };
    const ta = new Trainer(headOnlyView(a), settings);
    const tb = new Trainer(headOnlyView(b), settings);
    const sampler = { baseSize: 32, batchSize: 8, multiScale: false, seed: 3 };
    let step = 0;
    for (let epoch = 0; epoch < 3; epoch++) { // epoch 2 reuses view 0
      for (const { indices } of planEpoch(sampler, epoch, trainSet.cache.length)) {
        const labels = Int32Array.from(indices, (i) => trainSet.labels[i]);
        const seeds = () => { const s = step++; return (pass: number) => { let k = 0; return () => mixSeed(11, s, k++, pass); }; };
        const xa = bank.tensor(epoch, indices);
        const xb = await uncachedFeatures(b, trainSet, indices, epoch, opts);
        expect(maxAbsDiff(xa.dataSync(), xb.dataSync())).toBeLessThan(1e-5);
        const ra = await ta.step(xa, labels, 0.01, seeds());
        step--;
        const rb = await tb.step(xb, labels, 0.01, seeds());
        expect(ra.loss).toBeCloseTo(rb.loss, 5);
        tf.dispose([xa, xb]);
      }
    }
    const ha = stateDict(a);
    const hb = stateDict(b);
    for (const k of a.headKeys) expect(maxAbsDiff(ha.get(k)!.data, hb.get(k)!.data), k).toBeLessThan(1e-5);
    // The head moved, the backbone did not.
    const fresh = stateDict(createModel('mobilevit_xxs', { numClasses: 4, seed: 7 }));
    expect(maxAbsDiff(ha.get('head.fc.weight')!.data, fresh.get('head.fc.weight')!.data)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(ha.get('stages.4.1.conv_fusion.conv.weight')!.data, fresh.get('stages.4.1.conv_fusion.conv.weight')!.data)).toBe(0);
    const cached = await bank.evaluate(a, 8, scan.classes);
    const full = await evaluateSet(a, evalSet, 8, scan.classes);
    expect(cached.loss).toBeCloseTo(full.loss, 4);
    expect(cached.top1).toBe(full.top1);
    ta.dispose(); tb.dispose(); a.dispose(); b.dispose();
  });
});

describe('whole-image views', () => {
  it('are each training image as evaluation sees it (the same transform, kernel and crop), and its mirror', async () => {
    const data = await tinyDataset({ perClass: 3, layout: 'split', valPerClass: 1, size: 45 });
    const scan = await scanDataset(data, { valFraction: 0.2, seed: 1 });
    const trainViews = await buildEvalSet(scan.train, 32, { cropPct: 0.9 });
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 7 });
    const augment = { ...DEFAULT_AUGMENT, scale: [1, 1] as [number, number] };
    // Built from the evaluation-transformed images alone: a quick run on these views decodes no training cache.
    const bank = await FeatureBank.build(model, trainViews, null, { size: 32, augment, seed: 2 });
    expect(bank.views).toBe(2);
    const indices = scan.train.map((_, i) => i);
    // The evaluation transform of each file, read again here, and its mirror by TF.js's own reverse.
    const x = new Float32Array(indices.length * 32 * 32 * 3);
    for (const i of indices) writeUnitFloats((await evalTransformBytes(scan.train[i].path, 32, 0.9)).data, x, i * 32 * 32 * 3, null);
    const images = tf.tensor4d(x, [indices.length, 32, 32, 3]);
    const mirrored = tf.reverse(images, 2) as tf.Tensor4D;
    const direct = model.features(images, { training: false });
    const directMirror = model.features(mirrored, { training: false });
    const view0 = bank.tensor(0, indices);
    const view1 = bank.tensor(1, indices);
    expect(maxAbsDiff(view0.dataSync(), direct.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(view1.dataSync(), directMirror.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(view0.dataSync(), view1.dataSync())).toBeGreaterThan(1e-4);
    // The reference path without the bank gives the same rows.
    const uncached = await uncachedFeatures(model, trainViews, indices, 1, { size: 32, augment, seed: 2 });
    expect(maxAbsDiff(uncached.dataSync(), view1.dataSync())).toBeLessThan(1e-5);
    tf.dispose([images, mirrored, direct, directMirror, view0, view1, uncached]);
    model.dispose();
  });
});

describe('a head-only run', () => {
  it('stopped after a few steps and resumed ends with exactly the weights of an uninterrupted run', async () => {
    const data = await tinyDataset({ perClass: 8 });
    const settings = { headOnly: true, headSolver: 'steps' as const, epochs: 3, imageSize: 32, batchSize: 8, seed: 4, lr: 0.01 };
    const whole = tinyRun(data, settings);
    const split = tinyRun(data, settings);
    expect((await runTraining(whole.dir)).status).toBe('finished');
    const control = new AbortController();
    const first = await runTraining(split.dir, { signal: control.signal, afterStep: ({ step }) => { if (step === 5) control.abort('stop'); } });
    expect(first.status).toBe('stopped');
    expect(first.step).toBe(5);
    const second = await runTraining(split.dir);
    expect(second.status).toBe('finished');
    expect(second.step).toBe(12);
    const a = new CheckpointStore(join(whole.dir, FILES.checkpoints)).load('last')!.weights;
    const b = new CheckpointStore(join(split.dir, FILES.checkpoints)).load('last')!.weights;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a) expect(maxAbsDiff(t.data, b.get(k)!.data), k).toBe(0);
  }, 120_000);
});

describe('views per image', () => {
  it('1 without augmentation, 2 (the image and its mirror) with flips only, 2 random views with crops or jitter', () => {
    const none = { ...DEFAULT_AUGMENT, scale: [1, 1] as [number, number], hflip: 0 };
    expect(viewsFor(none)).toBe(1);
    expect(viewsFor({ ...none, hflip: 0.5 })).toBe(2);
    expect(viewAugment({ ...none, hflip: 0.5 }, 0).hflip).toBe(0);
    expect(viewAugment({ ...none, hflip: 0.5 }, 1).hflip).toBe(1);
    expect(viewsFor({ ...none, colorJitter: 0.1 })).toBe(2);
    expect(viewsFor(DEFAULT_AUGMENT)).toBe(2);
    expect(viewAugment(DEFAULT_AUGMENT, 1)).toBe(DEFAULT_AUGMENT);
  });
});

describe('which classifier a fine-tune keeps', () => {
  it('kept for the same labels; re-initialised for other labels, and for a foreign file of the same size, with a note', () => {
    const dir = mkdtempSync(join(tmpdir(), 'head-'));
    const src = createModel('mobilevit_xxs', { numClasses: 3, seed: 2 });
    const fc = stateDict(src).get('head.fc.weight')!.data;
    const ours = join(dir, 'ours.safetensors');
    const foreign = join(dir, 'foreign.safetensors');
    saveWeights(src, ours, { labels: JSON.stringify(['cat', 'dog', 'fox']) });
    saveWeights(src, foreign);
    const head = (m: ReturnType<typeof createModel>) => stateDict(m).get('head.fc.weight')!.data;

    let m = createModel('mobilevit_xxs', { numClasses: 3, seed: 9 });
    let r = loadForFineTune(m, ours, ['cat', 'dog', 'fox']);
    expect(r.headReinitialized).toBe(false);
    expect(maxAbsDiff(head(m), fc)).toBe(0);
    expect(r.notes.join(' ')).toMatch(/kept/);

    m = createModel('mobilevit_xxs', { numClasses: 3, seed: 9 });
    r = loadForFineTune(m, ours, ['ant', 'bee', 'cow']);
    expect(r.headReinitialized).toBe(true);
    expect(maxAbsDiff(head(m), fc)).toBeGreaterThan(1e-3);
    expect(r.notes.join(' ')).toMatch(/re-initialised: its labels \(cat, dog, fox\) are not this dataset's/);

    m = createModel('mobilevit_xxs', { numClasses: 3, seed: 9 });
    r = loadForFineTune(m, foreign, ['cat', 'dog', 'fox']);
    expect(r.headReinitialized).toBe(true);
    expect(r.notes.join(' ')).toMatch(/no labels in its metadata/);
    // The backbone is loaded in every case.
    expect(maxAbsDiff(stateDict(m).get('stem.conv.weight')!.data, stateDict(src).get('stem.conv.weight')!.data)).toBe(0);
  });
});

describe('a transfer task', () => {
  it('weights trained on four hues give a useful head for four other hues in seconds (far above a random backbone); a full fine-tune continues from it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'transfer-'));
    await hueDataset(join(base, 'source'), [0, 90, 180, 270], 40, 10, 40, 1);
    await hueDataset(join(base, 'target'), [45, 135, 225, 315], 20, 15, 40, 2);
    const source = tinyRun(join(base, 'source'), { imageSize: 32, epochs: 6, batchSize: 16, lr: 0.004, seed: 1 });
    const pre = await runTraining(source.dir);
    expect(pre.status, pre.error ?? '').toBe('finished');
    const preWeights = new CheckpointStore(join(source.dir, FILES.checkpoints)).weightsPath('best')!;
    expect(JSON.parse(readSafetensors(preWeights).metadata.labels)).toEqual(['hue0', 'hue180', 'hue270', 'hue90']);

    const quickSettings = { imageSize: 32, batchSize: 16, seed: 2, headOnly: true };
    const events: TrainEvent[] = [];
    const prepared = new Set<string>();
    const quick = tinyRun(join(base, 'target'), { ...quickSettings, weights: preWeights });
    const t0 = performance.now();
    const out = await runTraining(quick.dir, { onEvent: (e) => events.push(e), onPrepare: (task) => prepared.add(task) });
    const seconds = (performance.now() - t0) / 1000;
    expect(out.status, out.error ?? '').toBe('finished');
    // Its views are whole images through the evaluation transform: no training cache is decoded for it.
    expect([...prepared].sort()).toEqual(['eval-set', 'features', 'scan']);
    const warnings = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message).join('\n');
    expect(warnings).toMatch(/classifier re-initialised: its labels \(hue0, hue180, hue270, hue90\) are not this dataset's/);
    // Solved, not stepped: one step, and a line that says what was done.
    expect(events.filter((e) => e.type === 'step').length).toBe(1);
    expect(warnings).toMatch(/classifier solved to its optimum on 160 cached feature rows by full-batch L-BFGS .* weight decay \S+ chosen on a held-out fold of 16 of 80 images/);
    // The same quick run on a random backbone: what the pretrained features add.
    const random = await runTraining(tinyRun(join(base, 'target'), quickSettings).dir);
    console.log(`transfer: quick fine-tune ${seconds.toFixed(1)} s, best val top-1 ${(out.best!.top1 * 100).toFixed(1)} % (random backbone: ${(random.best!.top1 * 100).toFixed(1)} %)`);
    expect(out.best!.top1).toBeGreaterThanOrEqual(0.85);
    expect(out.best!.top1).toBeGreaterThan(random.best!.top1 + 0.15);
    // Features of 80 images × 2 views + 60 val, then the solve: seconds on wasm.
    expect(seconds).toBeLessThan(30);

    // The quick run's weights carry its labels: a full fine-tune on the same data keeps its head.
    const quickWeights = new CheckpointStore(join(quick.dir, FILES.checkpoints)).weightsPath('best')!;
    const full = tinyRun(join(base, 'target'), { imageSize: 32, epochs: 1, batchSize: 16, lr: 0.0005, seed: 2, weights: quickWeights });
    const fullEvents: TrainEvent[] = [];
    const f = await runTraining(full.dir, { onEvent: (e) => fullEvents.push(e) });
    expect(f.status, f.error ?? '').toBe('finished');
    const fullWarnings = fullEvents.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message).join("\n");
    expect(fullWarnings, fullWarnings).toMatch(/predicts these 4 classes: kept/);
    expect(f.val!.top1).toBeGreaterThanOrEqual(0.7);
  }, 600_000);
});
