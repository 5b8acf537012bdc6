// DeepLabv3 and SSDLite on compute devices. A device opens a segmentation or detection network for inference and
// its 'logits' are the network's one output tensor (src/device/kernel.ts); on wasm-workers (two worker threads,
// a batch split between them) and in headless Chromium (webgpu and webgl on SwiftShader, a software GPU; threaded
// wasm) they match the references made by transformers
// (test/fixtures/seg, 72×40 batch 2: non-square, batch 2, stage maps not multiples of the patch) and by ml-cvnets
// (test/fixtures/det, 320 px), within 1e-3 on the GPU backends and 1e-4 on wasm. One device per backend, opened
// once for both networks; SwiftShader compiles every shader on the CPU, so the limits are for hangs only.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChromiumDevice } from '../../src/device/chromium.ts';
import { LocalDevice, type ComputeDevice } from '../../src/device/device.ts';
import { ParallelDevice } from '../../src/device/parallel.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { bytePixels, fixture, maxAbs, maxAbsDiff, maxRelDiff } from '../helpers/fixtures.ts';

const HAVE_CHROMIUM = existsSync('/usr/bin/chromium');
const MINUTES = 60_000;
const SEG = { variant: 'deeplabv3_mobilevit_xxs', numClasses: 21 } as const;
const DET = { variant: 'ssdlite_mobilevit_xxs', numClasses: 81 } as const;
type Shape4 = [number, number, number, number];

const seg = () => ({
  weights: readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_256.weights.safetensors')).tensors,
  io: readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_72x40_b2.io.safetensors')).tensors,
});
const det = () => ({
  weights: readSafetensors(fixture('det/ssd_mobilevit_xxs_320_b1.weights.safetensors')).tensors,
  io: readSafetensors(fixture('det/ssd_mobilevit_xxs_320_b1.io.safetensors')).tensors,
});

/** Splits rows of [4 deltas, classes logits] per anchor into the two. */
function split(joined: Float32Array, classes: number): { deltas: Float32Array; logits: Float32Array } {
  const per = 4 + classes;
  const anchors = joined.length / per;
  const deltas = new Float32Array(anchors * 4);
  const logits = new Float32Array(anchors * classes);
  for (let a = 0; a < anchors; a++) {
    deltas.set(joined.subarray(a * per, a * per + 4), a * 4);
    logits.set(joined.subarray(a * per + 4, (a + 1) * per), a * classes);
  }
  return { deltas, logits };
}

describe('dense networks on a device (this process, cpu)', () => {
  let device: LocalDevice;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    device = new LocalDevice('cpu');
  });
  afterAll(() => device?.close());

  it('a detector\'s logits are its deltas then its class logits per anchor, as the model gives them', async () => {
    const { weights } = det();
    await device.call({ op: 'open', model: DET, weights });
    const shape: Shape4 = [1, 64, 96, 3];
    const x = Float32Array.from({ length: 64 * 96 * 3 }, (_, i) => (i % 251) / 250);
    const got = split(await device.call({ op: 'logits', x, shape, weights: 'live' }), 81);
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 81);
    loadWeights(model, weights, { source: 'det fixture' });
    const input = tf.tensor4d(x, shape);
    const want = model.forward(input);
    expect(got.deltas).toEqual(want.boxDeltas.dataSync());
    expect(got.logits).toEqual(want.classLogits.dataSync());
    tf.dispose([input, want.boxDeltas, want.classLogits]);
    model.dispose();
  });

  it('refuses a classifier-only call on a dense network, naming what it holds', async () => {
    await device.call({ op: 'open', model: SEG, weights: seg().weights });
    await expect(device.call({ op: 'features', x: new Float32Array(64 * 64 * 3), shape: [1, 64, 64, 3] }))
      .rejects.toThrow(/'features' needs a classifier; the device holds deeplabv3_mobilevit_xxs \(segmentation\)/);
  });
});

/** Both networks against their references on the device `open` starts, within `tol`. */
function parityOn(name: string, tol: number, open: () => Promise<ComputeDevice>): void {
  let device: ComputeDevice;
  beforeAll(async () => { device = await open(); }, 10 * MINUTES);
  afterAll(() => device?.close());

  it(`DeepLabv3-MobileViT XXS: transformers' logits at 72×40, batch 2, within ${tol}`, async () => {
    const { weights, io } = seg();
    await device.call({ op: 'open', model: SEG, weights });
    const u8 = io.get('input_u8')!;
    const logits = await device.call({ op: 'logits', x: bytePixels(u8), shape: u8.shape as Shape4, weights: 'live' });
    const diff = maxAbsDiff(logits, io.get('logits_nhwc')!.data);
    console.log(`${name} (${device.info.adapter}): DeepLabv3 XXS 72×40 b2 logits max |diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(tol);
  }, 10 * MINUTES);

  it(`SSDLite-MobileViT XXS: ml-cvnets' deltas and logits at 320 px within ${tol} × max(1, |ref|)`, async () => {
    const { weights, io } = det();
    await device.call({ op: 'open', model: DET, weights });
    const input = io.get('input_nhwc')!;
    const got = split(await device.call({ op: 'logits', x: input.data, shape: input.shape as Shape4, weights: 'live' }), 81);
    const deltas = maxRelDiff(got.deltas, io.get('box_deltas')!.data);
    const logits = maxRelDiff(got.logits, io.get('class_logits')!.data);
    console.log(`${name} (${device.info.adapter}): SSDLite XXS 320 deltas ${deltas.toExponential(2)}, logits ${logits.toExponential(2)} (scaled)`);
    expect(maxAbs(io.get('class_logits')!.data)).toBeGreaterThan(1); // the comparison is not of zeros
    expect(deltas).toBeLessThan(tol);
    expect(logits).toBeLessThan(tol);
  }, 10 * MINUTES);
}

describe('dense networks on wasm-workers (2 threads)', () => parityOn('wasm-workers', 1e-4, () => ParallelDevice.open(2)));

describe.skipIf(!HAVE_CHROMIUM).each([
  ['wasm-threads', 1e-4],
  ['webgl', 1e-3],
  ['webgpu', 1e-3],
] as const)('dense networks on %s in headless Chromium', (backend, tol) => parityOn(backend, tol, () => openChromiumDevice(backend)));
