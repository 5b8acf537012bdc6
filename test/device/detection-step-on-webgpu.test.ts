// SSDLite trains on webgpu: its hard-negative mining runs on tensors (optim/detection-loss.ts), so the step reads
// nothing back synchronously, which would lose a WebGPU device. Two steps of SSDLite-MobileViT-XXS on a 64 px batch
// of 2 in headless Chromium's webgpu (SwiftShader here: a software GPU, exact but slow) give the losses of the same
// steps on this process's wasm within relative 1e-3, and the device answers after them. The whole run through the
// training loop (dataset, evaluation, checkpoints) is test/device/dense-train-on-page.test.ts's on webgl and the
// page's wasm; on webgpu that costs minutes on SwiftShader (SwiftShader compiles every shader on the CPU), so this
// checks the step alone, small. Not smaller: at 32 px the backbone's last maps are 1×1, and BatchNorm over a batch of
// 2 single values is so ill-conditioned that this process's cpu and wasm already part by 2 % at the second step
// (at 64 px: 8e-6).
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { openChromiumDevice } from '../../src/device/chromium.ts';
import { LocalDevice, type ChannelDevice, type ComputeDevice } from '../../src/device/device.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import type { TensorMap } from '../../src/model/safetensors.ts';
import { stateDict } from '../../src/model/weights.ts';
import { matchAnchors, packTargets } from '../../src/optim/detection-loss.ts';
import type { StepResult, TrainerSettings } from '../../src/optim/trainer.ts';
import { ADAMW } from '../../src/train/defaults.ts';
import { Rng } from '../../src/util/random.ts';

const HAVE_CHROMIUM = existsSync('/usr/bin/chromium');
const MINUTES = 60_000;
const MODEL = { variant: 'ssdlite_mobilevit_xxs', numClasses: 3 } as const;
const [IMAGES, SIZE] = [2, 64];
// ε = 1e-6 as in test/device/chromium.test.ts: an analytically zero gradient is float noise on every backend, which
// AdamW's ε = 1e-8 would turn into a whole update of random sign.
const SETTINGS: TrainerSettings = { adamw: { ...ADAMW, eps: 1e-6, weightDecay: 0.05 }, labelSmoothing: 0, gradClip: 1, emaDecay: null };

let weights: TensorMap;
let labels: Int32Array;
const rng = new Rng(3);
const x = Float32Array.from({ length: IMAGES * SIZE * SIZE * 3 }, () => rng.next());

async function twoSteps(device: ComputeDevice): Promise<StepResult[]> {
  await device.call({ op: 'open', model: MODEL, weights, train: { settings: SETTINGS } });
  const out: StepResult[] = [];
  for (let step = 0; step < 2; step++) {
    out.push(await device.call({ op: 'step', x, size: SIZE, labels, lr: 2e-3, seed: 5, step, frozen: false, imagesPerPass: null }));
  }
  return out;
}

describe.skipIf(!HAVE_CHROMIUM)('SSDLite training steps on webgpu in headless Chromium', () => {
  let page: ChannelDevice;
  let here: StepResult[];
  beforeAll(async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
    const model = new DetectionModel(MODEL.variant, MODEL.numClasses, 1);
    weights = stateDict(model);
    const { anchors } = tf.tidy(() => {
      const o = model.forward(tf.zeros([1, SIZE, SIZE, 3]));
      tf.dispose([o.boxDeltas, o.classLogits]);
      return { anchors: o.anchors };
    });
    model.dispose();
    // Image 0: two boxes (3 hard negatives each); image 1: none (it adds nothing to the classification loss).
    labels = Int32Array.from([
      ...packTargets(matchAnchors([0.1, 0.1, 0.6, 0.5, 0.4, 0.3, 0.95, 0.9], [1, 2], anchors)),
      ...packTargets(matchAnchors([], [], anchors)),
    ]);
    const local = new LocalDevice('wasm');
    here = await twoSteps(local);
    await local.close();
    page = await openChromiumDevice('webgpu');
  }, 5 * MINUTES);
  afterAll(async () => { await page?.close(); });

  it('takes the steps this process takes, and the device answers after them', async () => {
    const onPage = await twoSteps(page);
    onPage.forEach((s, i) => {
      expect(Number.isFinite(s.loss), `step ${i} loss`).toBe(true);
      expect(Math.abs(s.loss - here[i].loss) / here[i].loss, `step ${i} loss: ${s.loss} on webgpu, ${here[i].loss} on wasm`).toBeLessThan(1e-3);
    });
    const live = await page.call({ op: 'weights', weights: 'live' });
    expect([...live.keys()]).toEqual([...weights.keys()]);
  }, 10 * MINUTES);
});
