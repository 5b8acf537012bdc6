// Zoo files made ready for the studio: Apple's Hugging Face checkpoints (transformers' names, BGR input) and timm's
// MobileNetV2 (ImageNet mean/std) load into the studio's networks and take RGB in [0, 1].
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFromWeights } from '../../src/model/from-file.ts';
import { createModel } from '../../src/model/index.ts';
import { encodeSafetensors, readSafetensors, type NamedTensor } from '../../src/model/safetensors.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { foldNormalization } from '../../src/zoo/convert.ts';
import { swapInputChannels } from '../../src/model/layout.ts';
import { IMAGENET_CLASSES } from '../../src/zoo/labels.ts';
import { pullZoo } from '../../src/zoo/store.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture, maxAbs, maxAbsDiff, huggingFaceFixture } from '../helpers/fixtures.ts';

let hub: FakeHub;
let ws: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  hub = await new FakeHub().start();
  ws = mkdtempSync(join(tmpdir(), 'zoo-convert-'));
});
afterAll(async () => { await hub.stop(); rmSync(ws, { recursive: true, force: true }); });

const hwio = (w: NamedTensor) => tf.transpose(tf.tensor4d(w.data, w.shape as [number, number, number, number]), [2, 3, 1, 0]) as tf.Tensor4D;
const rand = (shape: number[], seed: number) => ({ shape, data: tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array });

describe('stem arithmetic', () => {
  it('a BGR stem with swapped input channels gives on RGB what the original gives on BGR', () => {
    const w = rand([8, 3, 3, 3], 11);
    const x = tf.randomUniform([1, 9, 9, 3], 0, 1, 'float32', 12) as tf.Tensor4D;
    const bgr = tf.reverse(x, 3) as tf.Tensor4D;
    const a = tf.conv2d(bgr, hwio(w), 2, 'same');
    const b = tf.conv2d(x, hwio(swapInputChannels(w)), 2, 'same');
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    expect(maxAbsDiff(tf.conv2d(x, hwio(w), 2, 'same').dataSync(), b.dataSync())).toBeGreaterThan(1e-2);
  });

  it('folding mean/std into the conv and the BatchNorm running mean is exact away from the border', () => {
    const w = rand([8, 3, 3, 3], 21);
    const rm = rand([8], 22);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const x = tf.randomUniform([1, 11, 11, 3], 0, 1, 'float32', 23) as tf.Tensor4D;
    const norm = tf.div(tf.sub(x, tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
    const f = foldNormalization(w, rm, mean, std);
    const a = tf.sub(tf.conv2d(norm, hwio(w), 1, 'valid'), tf.tensor1d(rm.data));
    const b = tf.sub(tf.conv2d(x, hwio(f.w), 1, 'valid'), tf.tensor1d(f.runningMean.data));
    expect(maxAbsDiff(a.dataSync(), b.dataSync()) / maxAbs(a.dataSync())).toBeLessThan(1e-5);
  });
});

/** The fixture's weights under transformers' names. */
const huggingFaceFile = () => encodeSafetensors(huggingFaceFixture().hf);

describe('zoo files through the hub', () => {
  it('apple/mobilevit-xx-small at refs/pr/2: converted to timm names, and on RGB it equals the original on BGR', async () => {
    hub.add('apple/mobilevit-xx-small', 'refs/pr/2', 'model.safetensors', { body: huggingFaceFile() });
    const r = await pullZoo('apple/mobilevit-xx-small', ws, { env: { HF_ENDPOINT: hub.endpoint } });
    expect(r.path).toBe(join(ws, 'models', 'apple', 'mobilevit-xx-small', 'refs%2Fpr%2F2', 'model.safetensors'));
    expect(r.notes.join(' ')).toMatch(/BGR/);
    const { model, report, labels } = modelFromWeights('mobilevit_xxs', r.weights);
    expect(report.format).toBe('timm');
    expect(labels).toEqual(IMAGENET_CLASSES);
    const io = readSafetensors(fixture('mobilevit_xxs_256_b1_c1000.io.safetensors')).tensors;
    const input = io.get('input_nhwc')!;
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    // The fixture's logits are the network on input_nhwc; the Apple network was trained on BGR, so the studio's
    // RGB model must give those logits for the channel-reversed input.
    const logits = model.forward(tf.reverse(x, 3) as tf.Tensor4D);
    expect(maxAbsDiff(logits.dataSync(), io.get('logits')!.data)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('timm/mobilenetv2_100.ra_in1k: its keys are the studio\'s; the mean/std fold matches normalised input inside the image', async () => {
    const orig = createModel('mobilenet_v2', { numClasses: 1000, seed: 5 });
    const src = join(ws, 'mnv2.safetensors');
    saveWeights(orig, src);
    hub.add('timm/mobilenetv2_100.ra_in1k', 'main', 'model.safetensors', { body: readFileSync(src) });
    const r = await pullZoo('mobilenetv2_100', ws, { env: { HF_ENDPOINT: hub.endpoint } });
    const { model } = modelFromWeights('mobilenet_v2', r.weights);
    const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const norm = tf.div(tf.sub(x, tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225])) as tf.Tensor4D;
    const a = orig.forwardUntil(norm, 'conv_stem') as tf.Tensor4D;
    const b = model.forwardUntil(x, 'conv_stem') as tf.Tensor4D;
    // Inside: the same; at the border the padding stands for black, not the mean colour.
    const inner = (t: tf.Tensor4D) => t.slice([0, 1, 1, 0], [1, 14, 14, -1]).dataSync();
    expect(maxAbsDiff(inner(a), inner(b))).toBeLessThan(1e-4);
    orig.dispose();
    model.dispose();
  });
});
