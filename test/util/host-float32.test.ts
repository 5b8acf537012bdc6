// Float32 tensors filled and read through the wasm heap (host-float32.ts) against the ordinary route on cpu:
// the same values, nothing leaked, and dropout's mask drawn into the heap equal to dropoutMask's.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { filledFloat32, readFloat32Into } from '../../src/util/host-float32.ts';
import { applyDropout, dropoutMask } from '../../src/model/dropout.ts';

beforeAll(async () => { await initBackend('wasm'); }, 120_000);
afterAll(async () => { await tf.setBackend('cpu'); });

const ramp = (values: Float32Array) => values.forEach((_, i) => { values[i] = i * 0.5 - 3; });

describe.each(['wasm', 'cpu'])('on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    expect(tf.getBackend()).toBe(backend);
  });

  it.each([[[2, 3, 5]], [[7]], [[0, 4]]])('filledFloat32 %j holds what fill wrote, and readFloat32Into reads it back', async (shape) => {
    const before = tf.memory().numTensors;
    const t = filledFloat32(shape, ramp);
    const expected = new Float32Array(t.size);
    ramp(expected);
    expect(t.shape).toEqual(shape);
    expect(t.dtype).toBe('float32');
    expect(t.dataSync()).toEqual(expected);
    // The heap may grow in between (a new buffer): the read takes the memory as it is then.
    const big = tf.zeros([4 << 20]);
    const read = new Float32Array(t.size);
    await readFloat32Into(t, read);
    expect(read).toEqual(expected);
    tf.dispose([t, big]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a fill that throws leaves no tensor; a read into the wrong size or from int32 is refused', async () => {
    const before = tf.memory().numTensors;
    expect(() => filledFloat32([3], () => { throw new Error('no'); })).toThrow('no');
    expect(tf.memory().numTensors).toBe(before);
    const t = tf.ones([3]);
    await expect(readFloat32Into(t, new Float32Array(2))).rejects.toThrow('into 2 floats');
    const i = tf.ones([3], 'int32');
    await expect(readFloat32Into(i, new Float32Array(3))).rejects.toThrow('int32');
    tf.dispose([t, i]);
  });

  it("dropout's mask drawn into the tensor is dropoutMask's, forward and backward", () => {
    const before = tf.memory().numTensors;
    const x = tf.ones([2, 5, 5, 3]);
    const [out, grad] = tf.tidy(() => {
      const g = tf.grad((v: tf.Tensor) => applyDropout(v, 0.2, 11).mul(2).sum())(x);
      return [applyDropout(x, 0.2, 11), g];
    });
    const mask = dropoutMask(x.size, 0.2, 11);
    expect(out.dataSync()).toEqual(mask);
    expect(grad.dataSync()).toEqual(mask.map((v) => 2 * v));
    tf.dispose([x, out, grad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
