// Inference passes split across threads give the same rows as one thread, in order, and the pool
// releases everything it holds.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { ForwardPool } from '../../src/device/forward-pool.ts';
import { createModel } from '../../src/model/index.ts';
import { Rng } from '../../src/util/random.ts';
import { evaluate, type EvalBatch } from '../../src/train/evaluate.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('forward pool', () => {
  it('splits a batch across threads and returns the single-thread rows, bit for bit', async () => {
    const model = createModel('mobilevit_xxs', { numClasses: 5, seed: 3 });
    // Non-trivial running statistics, so a worker that used other weights would show.
    const warm = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    model.forward(warm, { training: true, nextSeed: () => 1 }).dispose();
    warm.dispose();
    const rng = new Rng(5);
    const n = 7;
    const size = 48;
    const x = Float32Array.from({ length: n * size * size * 3 }, () => rng.next());
    const one = await ForwardPool.start(model, 1);
    const notes: string[] = [];
    const three = await ForwardPool.start(model, 3, (m) => notes.push(m));
    try {
      expect(notes).toEqual([]);
      expect(three.threads).toBe(3);
      for (const what of ['features', 'logits'] as const) {
        const a = await one.run(what, x, n, size);
        const b = await three.run(what, x, n, size);
        expect(b.length).toBe(a.length);
        expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)), what).toBe(true);
      }
      // Fewer images than threads: each still lands in its row.
      const single = await three.run('logits', x.subarray(0, size * size * 3), 1, size);
      expect(Array.from(single)).toEqual(Array.from((await one.run('logits', x, n, size)).subarray(0, 5)));
    } finally {
      await three.close();
      await one.close();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(0);
  });

  it('evaluates as the model does: the same loss, accuracy, confusion and mistakes', async () => {
    const model = createModel('mobilenet_v2', { numClasses: 3, seed: 4 });
    const rng = new Rng(9);
    const size = 32;
    const images = Array.from({ length: 10 }, () => Float32Array.from({ length: size * size * 3 }, () => rng.next()));
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 3);
    async function* batches(): AsyncGenerator<EvalBatch> {
      for (let s = 0; s < 10; s += 4) {
        const n = Math.min(4, 10 - s);
        const x = new Float32Array(n * size * size * 3);
        for (let j = 0; j < n; j++) x.set(images[s + j], j * size * size * 3);
        yield { x: tf.tensor4d(x, [n, size, size, 3]), labels: labels.subarray(s, s + n), files: Array.from({ length: n }, (_, j) => `img${s + j}.png`) };
      }
    }
    const pool = await ForwardPool.start(model, 2);
    try {
      const direct = await evaluate(model, batches(), ['a', 'b', 'c']);
      const pooled = await evaluate(pool.asLogitsModel(), batches(), ['a', 'b', 'c']);
      expect(pooled).toEqual(direct);
    } finally {
      await pool.close();
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(0);
  });
});
