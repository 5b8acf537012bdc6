// wasm's Identity shares its input's memory (src/backend/wasm-identity.ts): the engine clones every tensor a
// gradient keeps, and TF.js's own wasm Identity copied each one. The clone must still read its values after
// the original is gone, free the memory with its last owner, and leave a training step's gradients as they were.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';

/** The wasm backend's count of memory blocks it holds (one per data id). */
const blocks = () => (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();

beforeAll(async () => { await initBackend('wasm'); });

describe("wasm's Identity", () => {
  it('shares the data, keeps it for the clone when the original goes, and frees it with the last owner', async () => {
    await tf.setBackend('wasm');
    const before = blocks();
    const x = tf.tensor([1.5, -2, 3.25, 7], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(blocks()).toBe(before + 1);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1.5, -2, 3.25, 7]);
    y.dispose();
    expect(blocks()).toBe(before);
    const ints = tf.tensor([3, 1, 2], [3], 'int32');
    expect(Array.from(tf.clone(ints).dataSync())).toEqual([3, 1, 2]);
    tf.dispose(ints);
  });

  it("leaves a training step's gradients equal to the cpu backend's and no memory behind", async () => {
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 6 * 6 * 4 }, (_, i) => Math.sin(i)), [2, 6, 6, 4]);
      const w = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 4 * 5 }, (_, i) => Math.cos(i) / 4), [3, 3, 4, 5]);
      // Saved inputs and outputs (conv, sigmoid, softmax, mul) are the tensors the engine clones.
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.sigmoid(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))), a.mean()));
      const step = () => tf.grads(loss)([x, w]);
      tf.dispose(step());
      const [tensors, held] = [tf.memory().numTensors, backend === 'wasm' ? blocks() : 0];
      const out = step();
      const data = await Promise.all(out.map((g) => g.data()));
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(tensors);
      if (backend === 'wasm') expect(blocks()).toBe(held);
      tf.dispose([x, w]);
      return data;
    };
    const [want, got] = [await grads('cpu'), await grads('wasm')];
    got.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-5)));
  });
});
