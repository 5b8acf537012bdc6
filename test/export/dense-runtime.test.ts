// The segmentation and detection networks on onnxruntime (train/dense-inference.ts) give what they give on TF.js:
// DeepLabv3's logits within 1e-4 and the same class map but at near-ties; SSDLite's raw outputs within 1e-4, and
// through the studio's one post-processing the same detections (count, labels, order), boxes and scores within 1e-4.
// The runtime rule measures a dense network once per machine, network and size and keeps it; `predict` and
// `eval --run` take --runtime onnxruntime for both tasks with the same results, and say which runtime computed them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeIndexMask } from '../../src/data/mask-png.ts';
import { OrtSegmentation } from '../../src/export/ort-dense.ts';
import { LocalDevice } from '../../src/device/device.ts';
import { readKept, runtimeKey } from '../../src/device/runtime-file.ts';
import { postprocess, SSD_POSTPROCESS } from '../../src/model/detection-postprocess.ts';
import { DetectionModel, type DetectorOutput } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { openDenseInference } from '../../src/train/dense-inference.ts';
import { MEASURE_WORTH_PIXELS } from '../../src/train/feature-runtime.ts';
import { runCli } from '../helpers/cli.ts';
import { writePhoto } from '../helpers/dense-predictions.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { randomImages, randomizeVectors } from './helpers.ts';

const TOL = 1e-4;
const dir = mkdtempSync(join(tmpdir(), 'dense-runtime-'));
let device: LocalDevice;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  device = new LocalDevice('wasm');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const within = (got: Float32Array, ref: Float32Array) => {
  const scale = Math.max(...ref.map(Math.abs));
  expect(scale).toBeGreaterThan(1e-3); // informative outputs, so the tolerance means something
  expect(maxAbsDiff(got, ref)).toBeLessThan(TOL * Math.max(1, scale));
};

const asked = (runtime: 'tfjs' | 'onnxruntime') => ({ device, runtime, pixels: 1 });

describe('a dense network on onnxruntime', () => {
  it('DeepLabv3 XXS, batch 2 at 64 px: the logits of TF.js within 1e-4, the same class map but at near-ties', async () => {
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 5, 3), 3);
    const x = tf.tensor4d(randomImages(2, 64, 7), [2, 64, 64, 3]);
    const [a, b] = [await openDenseInference(model, 64, asked('tfjs')), await openDenseInference(model, 64, asked('onnxruntime'))];
    const tensors = tf.memory().numTensors;
    try {
      expect([a.runtime, b.runtime]).toEqual(['tfjs', 'onnxruntime']);
      expect(a.note).toBe('TF.js on wasm in this process (asked for)');
      expect(b.note).toMatch(/^onnxruntime-node on \d+ threads? \(asked for\)$/);
      const [ta, tb] = [await a.forward(x), await b.forward(x)];
      expect(tb.shape).toEqual([2, 4, 4, 5]);
      within((await tb.data()) as Float32Array, (await ta.data()) as Float32Array);
      // The class of every input pixel (bilinear, half-pixel centres, then argmax): a pixel may differ only where TF.js's two best classes tie within the tolerance.
      const up = (t: tf.Tensor4D) => tf.tidy(() => tf.image.resizeBilinear(t, [64, 64], false, true));
      const [ua, ub] = [up(ta), up(tb)];
      const [ka, kb] = [tf.argMax(ua, 3), tf.argMax(ub, 3)];
      const [va, ca, cb] = [(await ua.data()) as Float32Array, await ka.data(), await kb.data()];
      let differing = 0;
      ca.forEach((c, p) => {
        if (c === cb[p]) return;
        differing++;
        expect(va[p * 5 + c] - va[p * 5 + cb[p]]).toBeLessThan(2 * TOL);
      });
      expect(differing).toBeLessThan(ca.length / 1000);
      expect(new Set(ca).size).toBeGreaterThan(1);
      tf.dispose([ta, tb, ua, ub, ka, kb]);
      expect(tf.memory().numTensors).toBe(tensors); // each runtime's pass leaves only what it returns
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
      x.dispose();
      model.dispose();
    }
  }, 120_000);

  it('SSDLite XXS, batch 2 at 96 px: the raw outputs within 1e-4, the same anchors, and through the one post-processing the same detections', async () => {
    const model = randomizeVectors(new DetectionModel('ssdlite_mobilevit_xxs', 4, 5), 5);
    const x = tf.tensor4d(randomImages(2, 96, 9), [2, 96, 96, 3]);
    const [a, b] = [await openDenseInference(model, 96, asked('tfjs')), await openDenseInference(model, 96, asked('onnxruntime'))];
    const read = async (o: DetectorOutput) => {
      const r = { deltas: (await o.boxDeltas.data()) as Float32Array, logits: (await o.classLogits.data()) as Float32Array, anchors: o.anchors };
      tf.dispose([o.boxDeltas, o.classLogits]);
      return r;
    };
    const tensors = tf.memory().numTensors;
    try {
      expect(b.numClasses).toBe(4);
      const [ra, rb] = [await read(await a.forward(x)), await read(await b.forward(x))];
      expect(tf.memory().numTensors).toBe(tensors);
      within(rb.deltas, ra.deltas);
      within(rb.logits, ra.logits);
      expect(Array.from(rb.anchors)).toEqual(Array.from(ra.anchors));
      const anchors = ra.anchors.length / 4;
      for (let j = 0; j < 2; j++) {
        const found = (r: typeof ra) => postprocess(r.logits.subarray(j * anchors * 4, (j + 1) * anchors * 4), r.deltas.subarray(j * anchors * 4, (j + 1) * anchors * 4), r.anchors, 4, SSD_POSTPROCESS);
        const [da, db] = [found(ra), found(rb)];
        expect(da.scores.length).toBeGreaterThan(3);
        expect(Array.from(db.labels)).toEqual(Array.from(da.labels));
        expect(maxAbsDiff(db.scores, da.scores)).toBeLessThan(TOL);
        expect(maxAbsDiff(db.boxes, da.boxes)).toBeLessThan(TOL);
      }
      // One image runs on onnxruntime's one-image session, a batch on its worker sessions: the same outputs and anchors.
      for (let j = 0; j < 2; j++) {
        const xj = tf.slice(x, [j], [1]) as tf.Tensor4D;
        const rj = await read(await b.forward(xj));
        xj.dispose();
        const row = (v: Float32Array) => v.subarray(j * anchors * 4, (j + 1) * anchors * 4); // 4 box values and 4 classes an anchor
        expect(maxAbsDiff(rj.deltas, row(rb.deltas))).toBeLessThan(1e-5);
        expect(maxAbsDiff(rj.logits, row(rb.logits))).toBeLessThan(1e-5);
        expect(Array.from(rj.anchors)).toEqual(Array.from(rb.anchors));
      }
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
      x.dispose();
      model.dispose();
    }
  }, 120_000);

  it('the rule measures a dense network once per machine, network and size, keeps the choice, and the next open reads it', async () => {
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 4), 4);
    const file = join(dir, 'inference-runtimes.json');
    const rule = { device, pixels: MEASURE_WORTH_PIXELS, file, env: {} };
    const exports = vi.spyOn(OrtSegmentation, 'create');
    try {
      const first = await openDenseInference(model, 64, rule);
      // The measurement's winner is handed on open: onnxruntime exported once, whichever won, and it computes.
      expect(exports).toHaveBeenCalledTimes(1);
      const x = tf.tensor4d(randomImages(1, 64, 5), [1, 64, 64, 3]);
      const [ours, tfjs] = [await first.forward(x), model.forward(x, { training: false })];
      within((await ours.data()) as Float32Array, (await tfjs.data()) as Float32Array);
      tf.dispose([x, ours, tfjs]);
      await first.dispose();
      const kept = readKept(file);
      expect(kept.map((k) => k.key)).toEqual([runtimeKey('deeplabv3_mobilevit_xxs', 64, 'wasm')]);
      expect(kept[0].runtime).toBe(first.runtime);
      expect(first.note).toMatch(/\(measured faster: [\d.]+ ms\/image on onnxruntime, [\d.]+ on TF.js at 64 px; kept for this machine in .*inference-runtimes.json\)$/);
      const again = await openDenseInference(model, 64, rule);
      await again.dispose();
      expect(again.runtime).toBe(first.runtime);
      expect(again.note).toMatch(/\(measured faster: .* on TF.js; kept for this machine in .*inference-runtimes.json\)$/); // read, not measured again
      expect(readKept(file)).toEqual(kept);
    } finally {
      exports.mockRestore();
      model.dispose();
    }
  }, 120_000);
});

describe('predict --runtime onnxruntime on a dense network', () => {
  const photo = join(dir, 'photo.png');
  beforeAll(async () => void await writePhoto(photo, 72, 52));

  it('segmentation: the mask TF.js writes, and the result says which runtime computed it', async () => {
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 4, 11), 11);
    const weights = join(dir, 'seg.safetensors');
    saveWeights(model, weights);
    model.dispose();
    const args = (out: string) => ['predict', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image', photo, '--image-size', '64', '--out', join(dir, out), '--json', '--backend', 'wasm'];
    const a = await runCli(...args('tfjs.png'));
    const b = await runCli(...args('ort.png'), '--runtime', 'onnxruntime');
    expect(a.code, a.err.join('\n')).toBe(0);
    expect(b.code, b.err.join('\n')).toBe(0);
    const [ja, jb] = [JSON.parse(a.out), JSON.parse(b.out)];
    expect(ja).toMatchObject({ runtime: 'tfjs', runtimeNote: 'TF.js on wasm in this process (too little work to measure the runtimes)' });
    expect(jb.runtime).toBe('onnxruntime');
    expect(b.err.join('\n')).toMatch(/at 64 px \(.*\) on onnxruntime-node on \d+ threads? \(asked for\)/);
    const [ma, mb] = [decodeIndexMask(readFileSync(join(dir, 'tfjs.png'))), decodeIndexMask(readFileSync(join(dir, 'ort.png')))];
    expect(new Set(ma.data).size).toBeGreaterThan(1);
    expect(Array.from(mb.data)).toEqual(Array.from(ma.data));
  }, 60_000);

  it('detection: the same boxes in the same order, within 1e-4 of the photo\'s size', async () => {
    const model = randomizeVectors(new DetectionModel('ssdlite_mobilevit_xxs', 3, 6), 6);
    const weights = join(dir, 'det.safetensors');
    saveWeights(model, weights);
    model.dispose();
    const args = ['predict', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--image', photo, '--image-size', '96', '--score-threshold', '0.2', '--json', '--backend', 'wasm'];
    const [a, b] = [await runCli(...args), await runCli(...args, '--runtime', 'onnxruntime')];
    expect(b.code, b.err.join('\n')).toBe(0);
    const [ja, jb] = [JSON.parse(a.out), JSON.parse(b.out)];
    expect(jb.runtime).toBe('onnxruntime');
    type Found = { index: number; score: number; box: number[] };
    expect(ja.detections.length).toBeGreaterThan(0);
    expect(jb.detections.map((d: Found) => d.index)).toEqual(ja.detections.map((d: Found) => d.index));
    ja.detections.forEach((d: Found, i: number) => {
      expect(Math.abs(d.score - jb.detections[i].score)).toBeLessThan(TOL);
      expect(maxAbsDiff(jb.detections[i].box, d.box)).toBeLessThan(TOL * 72);
    });
  }, 60_000);
});

describe('eval --run --runtime onnxruntime of a segmentation and a detection run', () => {
  /** A run of `task` on `data` at 64 px, its best checkpoint the network's weights as they are. */
  function runOf(task: 'segmentation' | 'detection', data: string, network: SegmentationModel | DetectionModel, classes: string[]): string {
    const run = createRun({ data, task, variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { runDir: join(dir, `${task}-run`) });
    new CheckpointStore(join(run.dir, 'checkpoints')).save('best', 1, stateDict(network), null, {}, { variant: network.variant });
    network.dispose();
    updateRun(run.dir, { classes, status: 'finished' });
    return run.dir;
  }
  const evalBoth = async (run: string) => {
    const args = ['eval', '--run', run, '--batch-size', '2', '--json', '--backend', 'wasm'];
    const [a, b] = [await runCli(...args, '--runtime', 'tfjs'), await runCli(...args, '--runtime', 'onnxruntime')];
    expect(a.code, a.err.join('\n')).toBe(0);
    expect(b.code, b.err.join('\n')).toBe(0);
    const [ra, rb] = [JSON.parse(a.out), JSON.parse(b.out)];
    expect(ra).toMatchObject({ runtime: 'tfjs', runtimeNote: 'TF.js on wasm in this process (asked for)' });
    expect(rb.runtime).toBe('onnxruntime');
    expect(b.err).toContain(`outputs on ${rb.runtimeNote}`);
    expect(rb.count).toBe(ra.count);
    expect(Math.abs(rb.loss - ra.loss)).toBeLessThan(TOL);
    expect(rb.top1).toBeCloseTo(ra.top1, 4);
    return [ra, rb];
  };

  it('segmentation: mIoU, per-class IoU and the accuracies within 1e-4', async () => {
    const data = join(dir, 'masks');
    await makeSegmentationDataset(data, { layout: 'images-masks-split', count: 8, classes: 3, size: 64, labels: true, border: true });
    const run = runOf('segmentation', data, randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 8), 8), ['background', 'shape1', 'shape2']);
    const [ra, rb] = await evalBoth(run);
    expect(ra.count).toBe(2);
    expect(Math.abs(rb.miou - ra.miou)).toBeLessThan(TOL);
    expect(Math.abs(rb.pixelAccuracy - ra.pixelAccuracy)).toBeLessThan(TOL);
    expect(Math.abs(rb.meanClassAccuracy - ra.meanClassAccuracy)).toBeLessThan(TOL);
    ra.perClassIou.forEach((v: number | null, i: number) => (v === null ? expect(rb.perClassIou[i]).toBeNull() : expect(Math.abs(rb.perClassIou[i] - v)).toBeLessThan(TOL)));
    expect(ra.perClassIou.some((v: number | null) => v !== null && v > 0)).toBe(true);
  }, 120_000);

  it('detection: the same mAP, AP50, AP75 and per-class AP', async () => {
    const data = join(dir, 'boxes');
    await makeDetectionDataset(data, { layout: 'yolo', count: 8, classes: 2, size: 64 });
    const run = runOf('detection', data, randomizeVectors(new DetectionModel('ssdlite_mobilevit_xxs', 3, 9), 9), ['red', 'green']);
    const [ra, rb] = await evalBoth(run);
    for (const k of ['map', 'ap50', 'ap75', 'perClassAp', 'precisionAt50']) expect(rb[k]).toEqual(ra[k]);
  }, 120_000);
});
