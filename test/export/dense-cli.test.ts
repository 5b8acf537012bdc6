// `export --format onnx` of a segmentation or detection network given as --variant + --weights, or of a segmentation
// run, through the CLI: small weights files and a run folder made here (their labels travel into the metadata, onnxruntime gives the studio's outputs),
// and the references' own checkpoints (transformers' DeepLabv3, ml-cvnets' SSDLite), whose outputs onnxruntime
// gives from the exported graph: logits, anchors, deltas and class logits, and ml-cvnets' detections with the
// post-processing in the graph.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-model.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, readRun, updateRun } from '../../src/run/index.ts';
import { runCli } from '../helpers/cli.ts';
import { fixture, maxAbsDiff, maxRelDiff } from '../helpers/fixtures.ts';
import { ortOutputs, randomizeVectors, toNhwc } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'dense-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

const runOrt = (file: string, nhwc: Float32Array, shape: readonly number[]) => ortOutputs(new Uint8Array(readFileSync(file)), nhwc, shape);

const metadataOf = (file: string) => Object.fromEntries(decodeModel(new Uint8Array(readFileSync(file))).metadataProps!.map((p) => [p.key, p.value!]));

describe('export --format onnx of a weights file', () => {
  it('DeepLabv3: the file\'s labels in the metadata, the logits at 1/16 equal to the studio\'s', async () => {
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2), 2);
    const weights = join(dir, 'seg.safetensors');
    saveWeights(model, weights, { labels: JSON.stringify(['background', 'road', 'sky']) });
    const out = join(dir, 'seg.onnx');
    const r = await runCli('export', '--format', 'onnx', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image-size', '64', '--out', out, '--backend', 'wasm', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ format: 'onnx', source: weights, files: [{ path: out }] });
    const meta = metadataOf(out);
    expect(JSON.parse(meta.labels)).toEqual(['background', 'road', 'sky']);
    expect(meta).toMatchObject({ task: 'segmentation', output_stride: '16', source: weights });
    const x = tf.tidy(() => tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 3).dataSync() as Float32Array).slice();
    const ref = tf.tidy(() => model.forward(tf.tensor4d(x, [2, 64, 64, 3])).dataSync().slice() as Float32Array);
    model.dispose();
    const logits = (await runOrt(out, x, [2, 64, 64])).logits;
    expect(logits.dims).toEqual([2, 3, 4, 4]);
    // Random BatchNorm statistics give logits of tens: 1e-4 of the largest, as the classifiers' parity test has it.
    expect(maxAbsDiff(toNhwc(logits.data as Float32Array, logits.dims as number[]), ref)).toBeLessThan(1e-4 * Math.max(1, ...ref.map(Math.abs)));
  }, 120_000);

  it('SSDLite: raw outputs by default, the detections with --score-threshold; refuses what does not fit', async () => {
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 4, 3);
    const weights = join(dir, 'det.safetensors');
    saveWeights(model, weights);
    model.dispose();
    const raw = join(dir, 'det.onnx');
    expect((await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--image-size', '96', '--out', raw, '--backend', 'wasm')).code).toBe(0);
    const graph = decodeModel(new Uint8Array(readFileSync(raw))).graph!;
    expect(graph.output!.map((o) => o.name)).toEqual(['box_deltas', 'class_logits', 'anchors']);
    expect(JSON.parse(metadataOf(raw).labels)).toEqual(['class 0', 'class 1', 'class 2', 'class 3']);
    const nms = join(dir, 'det-nms.onnx');
    expect((await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--image-size', '96', '--score-threshold', '0.2', '--out', nms, '--backend', 'wasm')).code).toBe(0);
    expect(decodeModel(new Uint8Array(readFileSync(nms))).graph!.output!.map((o) => o.name)).toEqual(['det_boxes', 'det_scores', 'det_labels', 'det_image']);
    expect(JSON.parse(metadataOf(nms).postprocess)).toEqual({ score_threshold: 0.2, nms_iou: 0.5, per_class: 200, per_image: null });

    const wrong = await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--num-classes', '5', '--out', join(dir, 'x.onnx'), '--backend', 'wasm');
    expect(wrong.code).not.toBe(0);
    expect(wrong.err.join('\n')).toMatch(/det\.safetensors does not fit ssdlite_mobilevit_xxs.*5 classes/);
    const threshold = await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--score-threshold', '1.5', '--out', join(dir, 'x.onnx'));
    expect(threshold.code).not.toBe(0);
    expect(threshold.err.join('\n')).toMatch(/--score-threshold must be a number from 0 to below 1, got 1.5/);
    const notDetector = await runCli('export', '--format', 'onnx', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', join(dir, 'seg.safetensors'), '--score-threshold', '0.5', '--out', join(dir, 'x.onnx'), '--backend', 'wasm');
    expect(notDetector.code).not.toBe(0);
    expect(notDetector.err.join('\n')).toMatch(/deeplabv3_mobilevit_xxs is not a detection network/);
  }, 120_000);
});

describe('export --format onnx of a segmentation or detection run', () => {
  it('its best checkpoint at its image size, with its classes and run id; onnxruntime gives its logits', async () => {
    const { dir: runDir } = createRun({ data: join(dir, 'masks'), task: 'segmentation', variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 },
      { runDir: join(dir, 'seg-run') });
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 4), 4);
    // As the training loop writes it: the network's name in the weights' metadata.
    const store = new CheckpointStore(join(runDir, 'checkpoints'));
    store.save('best', 10, stateDict(model), null, {}, { variant: 'deeplabv3_mobilevit_xxs' });
    store.save('last', 10, stateDict(model), null, {}, { variant: 'mobilevit_xxs' });
    updateRun(runDir, { classes: ['background', 'leaf', 'stem'], status: 'finished' });
    const out = join(dir, 'seg-run.onnx');
    const r = await runCli('export', '--format', 'onnx', '--run', runDir, '--out', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const meta = metadataOf(out);
    expect(JSON.parse(meta.labels)).toEqual(['background', 'leaf', 'stem']);
    expect(JSON.parse(meta.input_size)).toEqual([3, 64, 64]);
    expect(meta).toMatchObject({ task: 'segmentation', variant: 'deeplabv3_mobilevit_xxs', run_id: readRun(runDir).id });
    const x = tf.tidy(() => tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 5).dataSync() as Float32Array).slice();
    const ref = tf.tidy(() => model.forward(tf.tensor4d(x, [1, 64, 64, 3])).dataSync().slice() as Float32Array);
    model.dispose();
    const logits = (await runOrt(out, x, [1, 64, 64])).logits;
    expect(maxAbsDiff(toNhwc(logits.data as Float32Array, logits.dims as number[]), ref)).toBeLessThan(1e-4 * Math.max(1, ...ref.map(Math.abs)));
    const wrong = await runCli('export', '--format', 'onnx', '--run', runDir, '--checkpoint', 'last', '--out', out, '--backend', 'wasm');
    expect(wrong.code).not.toBe(0);
    expect(wrong.err.join('\n')).toMatch(/its metadata names "mobilevit_xxs", not the segmentation network run .* trained/);
  }, 120_000);

  it('a detection run: the raw outputs at its image size, with its classes', async () => {
    const { dir: runDir } = createRun({ data: join(dir, 'boxes'), task: 'detection', variant: 'mobilevit_xxs', imageSize: 96, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 },
      { runDir: join(dir, 'det-run') });
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 6);
    new CheckpointStore(join(runDir, 'checkpoints')).save('last', 4, stateDict(model), null, {}, { variant: 'ssdlite_mobilevit_xxs' });
    model.dispose();
    updateRun(runDir, { classes: ['cat', 'dog'], status: 'finished' });
    const out = join(dir, 'det-run.onnx');
    const r = await runCli('export', '--format', 'onnx', '--run', runDir, '--out', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(metadataOf(out).labels)).toEqual(['background', 'cat', 'dog']);
    const graph = decodeModel(new Uint8Array(readFileSync(out))).graph!;
    // At 96 px the levels' maps are 6², 3², 2², 1, 1 (6 anchors a cell) and the global level (4): 310 anchors.
    const anchors = (36 + 9 + 4 + 1 + 1) * 6 + 4;
    expect(graph.output!.map((o) => [o.name, o.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))])).toEqual([
      ['box_deltas', ['batch', anchors, 4]], ['class_logits', ['batch', anchors, 3]], ['anchors', [anchors, 4]],
    ]);
  }, 120_000);
});

describe('export --format onnx of the references\' checkpoints', () => {
  it('transformers\' DeepLabv3-MobileViT-XXS: onnxruntime gives its logits', async () => {
    const out = join(dir, 'seg-ref.onnx');
    const r = await runCli('export', '--format', 'onnx', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', fixture('seg/deeplabv3_mobilevit_xxs_256.weights.safetensors'),
      '--image-size', '256', '--out', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const io = readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_256.io.safetensors')).tensors;
    const logits = (await runOrt(out, io.get('input_nhwc')!.data, io.get('input_nhwc')!.shape)).logits;
    const want = io.get('logits_nhwc')!.data;
    expect(maxRelDiff(toNhwc(logits.data as Float32Array, logits.dims as number[]), want)).toBeLessThan(1e-4);
  }, 120_000);

  it('ml-cvnets\' SSDLite-MobileViT-XXS: its anchors, deltas and logits, and with the post-processing in the graph its detections', async () => {
    const io = readSafetensors(fixture('det/ssd_mobilevit_xxs_320_b1.io.safetensors')).tensors;
    const input = io.get('input_nhwc')!;
    const weights = fixture('det/ssd_mobilevit_xxs_320_b1.weights.safetensors');
    const raw = join(dir, 'det-ref.onnx');
    expect((await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--out', raw, '--backend', 'wasm')).code).toBe(0);
    const got = await runOrt(raw, input.data, input.shape);
    expect(maxAbsDiff(got.anchors.data as Float32Array, io.get('anchors')!.data)).toBeLessThan(1e-6);
    for (const name of ['box_deltas', 'class_logits']) {
      expect(maxRelDiff(got[name].data as Float32Array, io.get(name)!.data), name).toBeLessThan(1e-4);
    }
    const nms = join(dir, 'det-ref-nms.onnx');
    expect((await runCli('export', '--format', 'onnx', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--score-threshold', '0.5', '--out', nms, '--backend', 'wasm')).code).toBe(0);
    const det = await runOrt(nms, input.data, input.shape);
    expect([...(det.det_labels.data as BigInt64Array)].map(Number)).toEqual(Array.from(io.get('det_labels')!.data));
    expect(maxAbsDiff(det.det_boxes.data as Float32Array, io.get('det_boxes')!.data)).toBeLessThan(1e-4);
    expect(maxAbsDiff(det.det_scores.data as Float32Array, io.get('det_scores')!.data)).toBeLessThan(1e-4);
    expect(new Set(det.det_image.data as BigInt64Array)).toEqual(new Set([0n]));
  }, 120_000);
});
