// Inspection leaves the model on the device (src/device/resident.ts): a second question about the same weights
// sends none, and other weights, or any call that may have changed what the device holds, send them again.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { LocalDevice, type ComputeDevice } from '../../src/device/device.ts';
import { deviceLogits, openForInference } from '../../src/device/inference.ts';
import { inspectOn } from '../../src/device/inspect.ts';
import { fingerprintOf } from '../../src/device/resident.ts';
import type { RgbImage } from '../../src/inspect/overlay.ts';
import { createModel, type Model } from '../../src/model/index.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A device as a page would be (not this process's LocalDevice), counting the ops it is sent. */
function counting(counts = true): ComputeDevice & { ops: string[] } {
  const inner = new LocalDevice('wasm');
  const ops: string[] = [];
  const device: ComputeDevice & { ops: string[] } = {
    ops,
    info: inner.info,
    call: (req) => {
      ops.push(req.op);
      return inner.call(req);
    },
    localModel: () => null,
    close: () => inner.close(),
  };
  if (counts) Object.defineProperty(device, 'modelChanges', { get: () => inner.modelChanges });
  return device;
}

const size = 32;
const rng = new Rng(1);
const image: RgbImage = { width: size, height: size, data: Float32Array.from({ length: size * size * 3 }, () => rng.next()) };
const opens = (d: { ops: string[] }) => d.ops.filter((op) => op === 'open').length;
const attend = async (device: ComputeDevice, model: Model) => (await inspectOn(device, model, (i) => i.attention(image, [0]))).probs;

describe('a model resident on a device', () => {
  it('is sent once for many questions about the same weights, and again for other weights', async () => {
    const device = counting();
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    const twin = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    const other = createModel('mobilevit_xxs', { numClasses: 4, seed: 2 });
    try {
      const first = await attend(device, model);
      expect(await attend(device, model)).toEqual(first);
      await inspectOn(device, model, (i) => i.receptiveFields(image, [0], null));
      const x = tf.tensor4d(image.data, [1, size, size, 3]);
      const logits = await deviceLogits(device, model, x);
      x.dispose();
      expect(logits.shape).toEqual([1, 4]);
      logits.dispose();
      expect(await attend(device, twin)).toEqual(first); // the same weights in another object: nothing to send
      expect(opens(device)).toBe(1);

      const third = await attend(device, other); // another run, another checkpoint
      expect(opens(device)).toBe(2);
      expect(third).not.toEqual(first);
      await attend(device, model);
      expect(opens(device)).toBe(3);

      // A training step on the same object: one weight changed in place.
      const p = model.params.get('head.fc.weight')!;
      const before = fingerprintOf(model);
      p.variable.assign(tf.tidy(() => tf.add(p.variable, 0.5)));
      expect(fingerprintOf(model)).not.toBe(before);
      const changed = await attend(device, model);
      expect(opens(device)).toBe(4);
      expect(changed).not.toEqual(first);
      const fresh = counting();
      expect(changed).toEqual(await attend(fresh, model)); // what a device sent these weights computes
      await fresh.close();
    } finally {
      for (const m of [model, twin, other]) m.dispose();
      await device.close();
    }
  });

  it('is sent again after any other call that may have changed what the device holds', async () => {
    const device = counting();
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    try {
      await attend(device, model);
      const evaluation = await openForInference(device, model); // an evaluation opens and then closes
      await evaluation.dispose();
      await attend(device, model);
      expect(opens(device)).toBe(3);
      await device.call({ op: 'close' });
      await attend(device, model);
      expect(opens(device)).toBe(4);
      await expect(device.call({ op: 'step', x: new Float32Array(0), size, labels: new Int32Array(0), lr: 0, seed: 0, step: 0, frozen: false, imagesPerPass: null }))
        .rejects.toThrow(/opened for inference/); // an op that may change the weights, even one that fails
      await attend(device, model);
      expect(opens(device)).toBe(5);
    } finally {
      model.dispose();
      await device.close();
    }
  });

  it('is sent every time to a device that does not count its changes', async () => {
    const device = counting(false);
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    try {
      await attend(device, model);
      await attend(device, model);
      expect(opens(device)).toBe(2);
    } finally {
      model.dispose();
      await device.close();
    }
  });
});
