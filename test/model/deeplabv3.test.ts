// DeepLabv3-MobileViT against Hugging Face transformers' MobileViTForSemanticSegmentation (test/fixtures/seg/,
// made by transformers' own code with seeded random weights; see its README): parameter counts, logits at 1/16
// and the backbone's last map, on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { NETWORK_NAMES, taskOf } from '../../src/model/registry/index.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { bytePixels, fixture, maxAbsDiff } from '../helpers/fixtures.ts';

const NAME = 'seg/deeplabv3_mobilevit_xxs_256';
const TOL = 1e-4;

describe('DeepLabv3-MobileViT', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it.each([
    ['deeplabv3_mobilevit_xxs', 1_854_853],
    ['deeplabv3_mobilevit_xs', 2_944_069],
    ['deeplabv3_mobilevit_s', 6_357_941],
  ] as const)('%s has transformers\' parameter count with 21 labels', async (variant, count) => {
    await tf.setBackend('cpu');
    const model = new SegmentationModel(variant, 21);
    expect(model.paramCount()).toBe(count);
    model.dispose();
  });

  it('lists its variants and refuses an unknown one by name', () => {
    expect(NETWORK_NAMES.filter((n) => taskOf(n) === 'segmentation')).toEqual(['deeplabv3_mobilevit_xxs', 'deeplabv3_mobilevit_xs', 'deeplabv3_mobilevit_s']);
    expect(() => new SegmentationModel('deeplabv3_mobilevit_m' as never, 21)).toThrow(/unknown segmentation variant "deeplabv3_mobilevit_m"/);
  });

  describe.each(['cpu', 'wasm'])('parity with transformers on %s', (backend) => {
    it('loads the checkpoint under transformers\' names, swaps the BGR stem, and gives its logits within 1e-4', async () => {
      if (backend === 'wasm') await initBackend('wasm');
      await tf.setBackend(backend);
      const io = readSafetensors(fixture(`${NAME}.io.safetensors`)).tensors;
      const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 21);
      const report = loadWeights(model, readSafetensors(fixture(`${NAME}.weights.safetensors`)).tensors, { source: 'seg fixture' });
      expect(report.format).toBe('huggingface');
      expect(report.headReinitialized).toBe(false);
      expect(report.notes.join(' ')).toMatch(/BGR.*swapped/);
      const input = io.get('input_nhwc')!;
      // The fixture fed the reference BGR; after the swap the studio's model takes the same pixels as RGB.
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const logits = model.forward(x);
      expect(logits.shape).toEqual(io.get('logits_nhwc')!.shape);
      expect(maxAbsDiff(logits.dataSync(), io.get('logits_nhwc')!.data)).toBeLessThan(TOL);
      const last = model.forwardUntil(x, 'stages.4.1');
      expect(last.shape).toEqual(io.get('backbone_last_nhwc')!.shape);
      expect(maxAbsDiff(last.dataSync(), io.get('backbone_last_nhwc')!.data)).toBeLessThan(TOL);
      const mask = model.predict(x);
      expect(mask.shape).toEqual([1, 256, 256]);
      expect(mask.dtype).toBe('int32');
      tf.dispose([logits, last, mask]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      model.dispose();
    });

    // test/fixtures/seg/make_shapes.py: the same weights through transformers at other shapes (see shapes.json).
    it.each([
      ['256x192_b2', 'non-square, batch 2'],
      ['200x136_b1', 'stage maps 25×17 and 13×9: the MobileViT blocks resize to a multiple of the patch and back'],
      ['72x40_b2', 'all three at once, small'],
    ])('gives transformers\' logits and last map within 1e-4 at %s (%s)', async (shape) => {
      if (backend === 'wasm') await initBackend('wasm');
      await tf.setBackend(backend);
      const io = readSafetensors(fixture(`seg/deeplabv3_mobilevit_xxs_${shape}.io.safetensors`)).tensors;
      const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 21);
      loadWeights(model, readSafetensors(fixture(`${NAME}.weights.safetensors`)).tensors, { source: 'seg fixture' });
      const u8 = io.get('input_u8')!;
      const x = tf.tensor4d(bytePixels(u8), u8.shape as [number, number, number, number]);
      const logits = model.forward(x);
      const last = model.forwardUntil(x, 'stages.4.1');
      expect(logits.shape).toEqual(io.get('logits_nhwc')!.shape);
      expect(last.shape).toEqual(io.get('backbone_last_nhwc')!.shape);
      expect(maxAbsDiff(logits.dataSync(), io.get('logits_nhwc')!.data)).toBeLessThan(TOL);
      expect(maxAbsDiff(last.dataSync(), io.get('backbone_last_nhwc')!.data)).toBeLessThan(TOL);
      tf.dispose([x, logits, last]);
      model.dispose();
    });
  });
});
