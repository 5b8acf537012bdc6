// The box objective (optim/objective.ts) the trainer steps a detector with: anchor targets packed into a batch's
// int32 labels and back bit for bit, its loss the multibox loss on the unpacked targets, its hits and counts.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { matchAnchors, multiboxLoss, packTargets, unpackTargets } from '../../src/optim/detection-loss.ts';
import { BOX_OBJECTIVE } from '../../src/optim/objective.ts';

beforeAll(async () => { await initBackend('wasm'); });

// Four anchors (cx, cy, w, h) and two images: one box of class 2 on anchor 0, and a box of class 1 near anchor 3.
const anchors = [0.25, 0.25, 0.2, 0.2, 0.3, 0.25, 0.2, 0.2, 0.8, 0.2, 0.1, 0.1, 0.7, 0.75, 0.2, 0.2];
const targets = [matchAnchors([0.15, 0.15, 0.35, 0.35], [2], anchors), matchAnchors([0.5, 0.6, 0.7, 0.9], [1], anchors)];

describe('packTargets / unpackTargets', () => {
  it('carries each anchor\'s class and its regression targets exactly, image by image', () => {
    const packed = new Int32Array([...packTargets(targets[0]), ...packTargets(targets[1])]);
    expect(packed).toHaveLength(2 * 4 * 5);
    const back = unpackTargets(packed, 2);
    for (const [i, t] of targets.entries()) {
      expect(Array.from(back[i].labels)).toEqual(Array.from(t.labels));
      expect(Buffer.from(back[i].locations.buffer).equals(Buffer.from(t.locations.buffer))).toBe(true);
    }
    // A view into a larger array (a pass's slice of the batch) reads from its own offset.
    const again = unpackTargets(packed.subarray(20), 1);
    expect(Array.from(again[0].labels)).toEqual(Array.from(targets[1].labels));
  });

  it('refuses a row that is not whole anchors', () => {
    expect(() => unpackTargets(new Int32Array(7), 1)).toThrow(/7 values for 1 images of 5 per anchor/);
  });
});

describe('BOX_OBJECTIVE', () => {
  let deltas: tf.Tensor3D, logits: tf.Tensor3D, output: tf.Tensor, y: tf.Tensor;
  beforeAll(() => {
    deltas = tf.tensor3d(Array.from({ length: 2 * 4 * 4 }, (_, i) => Math.sin(i) * 0.5), [2, 4, 4]);
    // Logits for 3 classes (background first): image 0's anchor 0 says class 2, image 1's anchor 3 says class 2 (wrong).
    logits = tf.tensor3d([
      0, 1, 3, /* */ 2, 0, 0, /* */ 2, 0, 0, /* */ 1, 0, 0,
      2, 0, 0, /* */ 2, 0, 0, /* */ 0, 1, 0, /* */ 0, 1, 2,
    ], [2, 4, 3]);
    output = tf.concat([deltas, logits], 2);
    y = BOX_OBJECTIVE.labelTensor(new Int32Array([...packTargets(targets[0]), ...packTargets(targets[1])]), 2, 64);
  });

  it('is the multibox loss of the deltas and logits side by side against the unpacked targets', async () => {
    const expected = (await multiboxLoss(deltas, logits, targets).data())[0];
    expect((await BOX_OBJECTIVE.loss(output, y, 0).data())[0]).toBeCloseTo(expected, 6);
  });

  it('counts the positive anchors and, of them, those whose top class is their box\'s', async () => {
    const positives = [...targets[0].labels, ...targets[1].labels].filter((l) => l > 0).length;
    expect((await BOX_OBJECTIVE.counted(y).data())[0]).toBe(positives);
    // Image 0's anchor 0 (class 2, top logit class 2) is a hit; image 1's positive says class 2 for a class-1 box.
    expect(Array.from(targets[0].labels)).toEqual([2, 2, 0, 0]);
    expect((await BOX_OBJECTIVE.hits(output, y).data())[0]).toBe(1);
  });

  it('counts at least one anchor, so a batch of negatives reports 0 of 1', async () => {
    const none = BOX_OBJECTIVE.labelTensor(packTargets(matchAnchors([], [], anchors)), 1, 64);
    expect((await BOX_OBJECTIVE.counted(none).data())[0]).toBe(1);
  });

  it('refuses targets for other anchors than the detector predicted', () => {
    const short = BOX_OBJECTIVE.labelTensor(new Int32Array(2 * 3 * 5), 2, 64);
    expect(() => BOX_OBJECTIVE.loss(output, short, 0)).toThrow(/targets for 3 anchors, but the detector predicted 4/);
  });
});
