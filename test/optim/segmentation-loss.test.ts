// Pixel cross-entropy with ignore index 255 against the formula written out per pixel, and a DeepLabv3 training
// step through it on wasm: every parameter gets a finite gradient (the atrous branches' too).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { pixelCrossEntropy } from '../../src/optim/segmentation-loss.ts';
import { IGNORE_INDEX } from '../../src/util/mask-values.ts';
import { expectEveryGradientAfterOneStep, torchBilinear } from '../helpers/gradients.ts';

/** A channel-last map [h][w][C] upsampled channel by channel as PyTorch does. */
function upsample(src: number[][][], h: number, w: number): number[][][] {
  const channels = src[0][0].map((_, c) => torchBilinear(src.map((row) => row.map((z) => z[c])), h, w));
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => channels.map((ch) => ch[y][x])));
}

describe.each(['cpu', 'wasm'])('pixelCrossEntropy on %s', (backend) => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('is the mean negative log-likelihood over labelled pixels of the upsampled logits', async () => {
    if (backend === 'wasm') await initBackend('wasm');
    await tf.setBackend(backend);
    const logits = tf.randomNormal([2, 3, 4, 5], 0, 2, 'float32', 3) as tf.Tensor4D;
    const labels = [0, 1].map((b) => Array.from({ length: 12 }, (_, y) => Array.from({ length: 16 }, (_, x) =>
      (x + y + b) % 7 === 0 ? IGNORE_INDEX : (x * 3 + y + b) % 5)));
    const before = tf.memory().numTensors;
    const loss = pixelCrossEntropy(logits, tf.tensor3d(labels, [2, 12, 16], 'int32'));
    const maps = logits.arraySync();
    let sum = 0;
    let count = 0;
    maps.forEach((map, b) => upsample(map, 12, 16).forEach((row, y) => row.forEach((z, x) => {
      const label = labels[b][y][x];
      if (label === IGNORE_INDEX) return;
      const max = Math.max(...z);
      const logSum = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
      sum += logSum - z[label];
      count++;
    })));
    expect(loss.dataSync()[0]).toBeCloseTo(sum / count, 4);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // the labels tensor made inline above
    logits.dispose();
  });

  it('is 0 with every pixel ignored, and refuses mismatched batches', async () => {
    await tf.setBackend(backend);
    const logits = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const ignored = tf.fill([1, 4, 4], IGNORE_INDEX, 'int32') as tf.Tensor3D;
    expect(pixelCrossEntropy(logits, ignored).dataSync()[0]).toBe(0);
    const two = tf.zeros([2, 4, 4], 'int32') as tf.Tensor3D;
    expect(() => pixelCrossEntropy(logits, two)).toThrow(/1 logit maps but 2 label maps/);
    tf.dispose([logits, ignored, two]);
  });
});

describe('DeepLabv3 training step', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('trains DeepLabv3-MobileViT-XXS on wasm (the training backend): after one step every parameter gets a finite, non-zero gradient', async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 5);
    const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const labels = tf.tensor3d(Array.from({ length: 2 * 64 * 64 }, (_, i) => (i % 97 === 0 ? IGNORE_INDEX : Math.floor(i / 1000) % 3)), [2, 64, 64], 'int32');
    expectEveryGradientAfterOneStep(model.trainableVariables(), () => pixelCrossEntropy(model.forward(x, { training: true, nextSeed: () => 1 }), labels));
    tf.dispose([x, labels]);
    model.dispose();
  });
});
