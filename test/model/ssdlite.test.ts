// SSDLite-MobileViT against Apple's ml-cvnets v0.1 (test/fixtures/det/, made by ml-cvnets' own code with seeded
// random weights; see its README): parameter counts, anchors, box deltas and class logits on cpu and wasm.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { makeAnchors } from '../../src/model/anchors.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixture, maxAbs, maxAbsDiff, maxRelDiff } from '../helpers/fixtures.ts';

const NAME = 'det/ssd_mobilevit_xxs_320_b1';

describe('SSDLite-MobileViT', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it.each([
    ['ssdlite_mobilevit_xxs', 1_755_050],
    ['ssdlite_mobilevit_xs', 2_742_042],
    ['ssdlite_mobilevit_s', 5_738_826],
  ] as const)('%s has ml-cvnets\' parameter count with 81 classes', async (variant, count) => {
    await tf.setBackend('cpu');
    const model = new DetectionModel(variant, 81);
    expect(model.paramCount()).toBe(count);
    model.dispose();
  });

  it('makes ml-cvnets\' 3,232 anchors at 320 px within 1e-6', () => {
    const io = readSafetensors(fixture(`${NAME}.io.safetensors`)).tensors;
    const anchors = makeAnchors([[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]]);
    expect(anchors.length).toBe(3232 * 4);
    expect(maxAbsDiff(anchors, io.get('anchors')!.data)).toBeLessThan(1e-6);
  });

  describe.each(['cpu', 'wasm'])('parity with ml-cvnets on %s', (backend) => {
    it('loads ml-cvnets\' names, swaps the BGR stem, and gives its deltas and logits within 1e-4 × max(1, |ref|)', async () => {
      if (backend === 'wasm') await initBackend('wasm');
      await tf.setBackend(backend);
      const io = readSafetensors(fixture(`${NAME}.io.safetensors`)).tensors;
      const model = new DetectionModel('ssdlite_mobilevit_xxs', 81);
      const report = loadWeights(model, readSafetensors(fixture(`${NAME}.weights.safetensors`)).tensors, { source: 'det fixture' });
      expect(report.format).toBe('cvnets');
      expect(report.notes.join(' ')).toMatch(/BGR.*swapped/);
      const input = io.get('input_nhwc')!;
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const out = model.forward(x);
      expect(out.boxDeltas.shape).toEqual([1, 3232, 4]);
      expect(out.classLogits.shape).toEqual([1, 3232, 81]);
      expect(maxAbsDiff(out.anchors, io.get('anchors')!.data)).toBeLessThan(1e-6);
      expect(maxRelDiff(out.boxDeltas.dataSync(), io.get('box_deltas')!.data)).toBeLessThan(1e-4);
      expect(maxRelDiff(out.classLogits.dataSync(), io.get('class_logits')!.data)).toBeLessThan(1e-4);
      expect(maxAbs(io.get('class_logits')!.data)).toBeGreaterThan(1); // the comparison is not of zeros
      tf.dispose([out.boxDeltas, out.classLogits]);
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      model.dispose();
    });
  });
});

describe('SSD post-processing', () => {
  it('gives ml-cvnets\' detections of the fixture: the same count, labels and order, boxes and scores within 1e-4', async () => {
    const { postprocess } = await import('../../src/model/detection-postprocess.ts');
    const io = readSafetensors(fixture(`${NAME}.io.safetensors`)).tensors;
    // ml-cvnets' own predict on the stored outputs, at the manifest's threshold (random weights saturate the scores).
    const det = postprocess(io.get('class_logits')!.data, io.get('box_deltas')!.data, io.get('anchors')!.data, 81, { scoreThreshold: 0.5, nmsIou: 0.5, perClass: 200 });
    expect(det.labels.length).toBe(184);
    expect(Array.from(det.labels)).toEqual(Array.from(io.get('det_labels')!.data));
    expect(maxAbsDiff(det.boxes, io.get('det_boxes')!.data)).toBeLessThan(1e-4);
    expect(maxAbsDiff(det.scores, io.get('det_scores')!.data)).toBeLessThan(1e-4);
  });

  it('suppresses overlaps above the IoU threshold only, keeps per class and per image limits, in label then score order', async () => {
    const { postprocess } = await import('../../src/model/detection-postprocess.ts');
    // Four anchors, three classes (0 background). IoU(0, 1) = 2/3 and IoU(1, 2) = 0.54 (> 0.5); IoU(0, 2) = 1/3.
    const anchors = [0.3, 0.5, 0.2, 0.2, 0.34, 0.5, 0.2, 0.2, 0.4, 0.5, 0.2, 0.2, 0.8, 0.8, 0.1, 0.1];
    const deltas = new Array(16).fill(0);
    const logit = (p: number[]) => p.map(Math.log);
    const logits = [...logit([0.1, 0.8, 0.1]), ...logit([0.1, 0.7, 0.2]), ...logit([0.2, 0.6, 0.2]), ...logit([0.1, 0.1, 0.8])];
    const all = postprocess(logits, deltas, anchors, 3, { scoreThreshold: 0.15, nmsIou: 0.5, perClass: 200 });
    // class 1: anchor 0 (0.8); 1 suppressed by 0; 2 kept (IoU 1/3 with 0). class 2: anchor 3 (0.8); 1 (0.2, first of a
    // tie in anchor order); 2 suppressed by 1.
    expect(Array.from(all.labels)).toEqual([1, 1, 2, 2]);
    expect(Array.from(all.scores).map((s) => +s.toFixed(4))).toEqual([0.8, 0.6, 0.8, 0.2]);
    const capped = postprocess(logits, deltas, anchors, 3, { scoreThreshold: 0.15, nmsIou: 0.5, perClass: 1, perImage: 1 });
    expect(Array.from(capped.labels)).toEqual([1]);
  });
});
