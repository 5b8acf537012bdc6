// The inspections' new paths on the dense networks leave no tensor behind: attention capture (with the class map's
// logits or the detector's outputs read back), receptive fields through the ASPP's atrous taps, and profiles with
// the ASPP's parts, each repeated with tf.memory().numTensors flat (on wasm, the default in-process backend).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { captureAttention } from '../../src/inspect/capture.ts';
import { profileModel } from '../../src/inspect/profile.ts';
import { receptiveField, spatialBlocks } from '../../src/inspect/receptive-field.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';

let seg: SegmentationModel;
let det: DetectionModel;
let x: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 1);
  det = new DetectionModel('ssdlite_mobilevit_xxs', 3, 2);
  x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
});
afterAll(() => {
  tf.dispose([x]);
  seg.dispose();
  det.dispose();
});

/** Runs `fn` once to warm up (backends may keep something on first use), then again with the tensor count unchanged. */
async function flat(fn: () => Promise<unknown> | unknown): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}

describe('tensor hygiene of inspection on dense networks', () => {
  it('attention capture of both networks, with their outputs read back', async () => {
    await flat(async () => {
      const s = await captureAttention(seg, x, [0]);
      expect(s.dense).toMatchObject({ task: 'segmentation', shape: [1, 4, 4, 3] });
      const d = await captureAttention(det, x);
      expect(d.dense?.task).toBe('detection');
      expect(d.blocks.map((b) => b.index)).toEqual([0, 1, 2]);
    });
  });

  it('a receptive field after the ASPP (atrous taps under a gradient) and after an extra layer', async () => {
    const aspp = spatialBlocks(seg).find((b) => b.name === 'segmentation_head.aspp')!;
    const extra = spatialBlocks(det).find((b) => b.name === 'extra_layers.os_64')!;
    await flat(() => {
      expect(receptiveField(seg, x, aspp).support).toBeGreaterThan(0);
      expect(receptiveField(det, x, extra).support).toBeGreaterThan(0);
    });
  });

  it('profiles of both networks', async () => {
    await flat(() => {
      profileModel(seg, { imageSize: 64, runs: 1, warmup: 0 });
      profileModel(det, { imageSize: 64, runs: 1, warmup: 0 });
    });
  });
});
