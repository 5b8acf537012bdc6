// COCO-style detection scores on cases whose AP is worked out by hand.
import { describe, expect, it } from 'vitest';
import { evaluateDetections, imageMisses, mostMissed, type DetectedBox, type GroundTruthBox } from '../../src/train/detection-metrics.ts';

const gt = (box: [number, number, number, number], label = 1, extra: Partial<GroundTruthBox> = {}): GroundTruthBox => ({ box, label, ...extra });
const det = (box: [number, number, number, number], score: number, label = 1): DetectedBox => ({ box, label, score });

describe('evaluateDetections', () => {
  it('a perfect detection scores 1 everywhere', () => {
    const s = evaluateDetections([{ truth: [gt([10, 10, 50, 50])], detections: [det([10, 10, 50, 50], 0.9)] }], 2);
    expect([s.map, s.ap50, s.ap75]).toEqual([1, 1, 1]);
    expect(s.perClassAp).toEqual([null, 1]);
    expect(s.apMedium).toBe(1); // 50×50 = 2500 px², between 32² and 96²
    expect([s.apSmall, s.apLarge]).toEqual([null, null]);
  });

  it('a detection of IoU 0.58 counts at thresholds .50 and .55 only: mAP 0.2, AP50 1, AP75 0', () => {
    // Ground truth 100×100, the detection 100×58 inside it.
    const s = evaluateDetections([{ truth: [gt([0, 0, 100, 100])], detections: [det([0, 0, 100, 58], 0.8)] }], 2);
    expect(s.ap50).toBe(1);
    expect(s.ap75).toBe(0);
    expect(s.map).toBeCloseTo(0.2, 12);
    // IoU 0.6 exactly also counts at .60 (a match needs IoU ≥ the threshold).
    expect(evaluateDetections([{ truth: [gt([0, 0, 100, 100])], detections: [det([0, 0, 100, 60], 0.8)] }], 2).map).toBeCloseTo(0.3, 12);
  });

  it('interpolates precision at 101 recall points: TP, FP, TP over two ground truths gives (51 + 50·2/3) / 101', () => {
    const s = evaluateDetections([{
      truth: [gt([0, 0, 40, 40]), gt([100, 100, 40, 40])],
      detections: [det([0, 0, 40, 40], 0.9), det([200, 200, 40, 40], 0.8), det([100, 100, 40, 40], 0.7)],
    }], 2);
    expect(s.ap50).toBeCloseTo((51 + (50 * 2) / 3) / 101, 12);
    expect(s.precisionAt50[1]!.slice(49, 53).map((p) => +p.toFixed(4))).toEqual([1, 1, 0.6667, 0.6667]);
  });

  it('a second detection of the same object is a false positive; order is by score across images', () => {
    const s = evaluateDetections([
      { truth: [gt([0, 0, 40, 40])], detections: [det([0, 0, 40, 40], 0.5), det([1, 1, 40, 40], 0.4)] },
      { truth: [gt([0, 0, 40, 40])], detections: [det([0, 0, 40, 40], 0.9)] },
    ], 2);
    // Ranked: TP (0.9), TP (0.5), FP (0.4): precision 1 up to recall 1.
    expect(s.ap50).toBe(1);
  });

  it('detections on a crowd region count for nothing, however many', () => {
    const truth = [gt([0, 0, 40, 40]), gt([100, 0, 200, 200], 1, { crowd: true })];
    const detections = [det([0, 0, 40, 40], 0.6), det([110, 10, 30, 30], 0.9), det([150, 50, 30, 30], 0.8)];
    const s = evaluateDetections([{ truth, detections }], 2);
    expect(s.ap50).toBe(1);
    // Without the crowd flag they would be false positives ranked above the true one.
    const plain = evaluateDetections([{ truth: [truth[0]], detections }], 2);
    expect(plain.ap50).toBeCloseTo(1 / 3, 2);
  });

  it('averages over classes with ground truth only, and keeps 100 detections per image', () => {
    const s = evaluateDetections([{ truth: [gt([0, 0, 40, 40], 1)], detections: [det([0, 0, 40, 40], 0.9, 1), det([0, 0, 40, 40], 0.9, 2)] }], 3);
    expect(s.perClassAp).toEqual([null, 1, null]);
    expect(s.map).toBe(1);
    const many = Array.from({ length: 150 }, (_, i) => det([500 + i, 500, 10, 10], 0.99 - i / 1000));
    const capped = evaluateDetections([{ truth: [gt([0, 0, 40, 40])], detections: [...many, det([0, 0, 40, 40], 0.5)] }], 2);
    expect(capped.ap50).toBe(0); // the true detection is the 151st by score
  });
});

describe('imageMisses', () => {
  // Three images, two classes, counted at score 0.3 (worked out by hand):
  // - image 0: box A (class 1) found at IoU 0.64 (40×40 vs 40×25.6 inside it) by a 0.9; a second 0.8 detection on A
  //   is a false positive (A is taken); box B (class 1) is found only by a 0.2, below the score: 1 missed, 1 false;
  // - image 1: box C is class 2 but the 0.95 detection on it says class 1: 1 missed, 1 false; a 0.7 detection on
  //   a crowd region is neither;
  // - image 2: a box found at IoU exactly 0.5 (40×40 vs 40×20): nothing wrong.
  const images = [
    {
      truth: [gt([0, 0, 40, 40]), gt([100, 100, 40, 40])],
      detections: [det([0, 0, 40, 25.6], 0.9), det([0, 0, 40, 40], 0.8), det([100, 100, 40, 40], 0.2)],
    },
    {
      truth: [gt([0, 0, 40, 40], 2), gt([200, 0, 100, 100], 1, { crowd: true })],
      detections: [det([0, 0, 40, 40], 0.95, 1), det([220, 20, 30, 30], 0.7, 1)],
    },
    { truth: [gt([0, 0, 40, 40])], detections: [det([0, 0, 40, 20], 0.5)] },
  ];

  it('counts per image the boxes no detection above the score finds at IoU .5 and the detections that find none', () => {
    expect(imageMisses(images, 3, 0.3)).toEqual([
      { index: 0, missed: 1, falsePositives: 1, boxes: 2 },
      { index: 1, missed: 1, falsePositives: 1, boxes: 1 },
      { index: 2, missed: 0, falsePositives: 0, boxes: 1 },
    ]);
    // At 0.1 the 0.2 detection finds B; at 0.85 the 0.8 one is no longer shown, and image 2's 0.5 one is gone (a miss).
    expect(imageMisses(images, 3, 0.1)[0]).toMatchObject({ missed: 0, falsePositives: 1 });
    expect(imageMisses(images, 3, 0.85).map((m) => [m.missed, m.falsePositives])).toEqual([[1, 0], [1, 1], [1, 0]]);
  });

  it('lists the images with the most misses and false positives, worst first, and none that got everything right', () => {
    const misses = [
      { index: 0, missed: 0, falsePositives: 2, boxes: 1 },
      { index: 1, missed: 0, falsePositives: 0, boxes: 1 },
      { index: 2, missed: 2, falsePositives: 0, boxes: 3 },
      { index: 3, missed: 3, falsePositives: 1, boxes: 3 },
      { index: 4, missed: 1, falsePositives: 0, boxes: 3 },
    ];
    // 3 has 4; 2 and 0 have 2 each (2 first: more missed); then 4; 1 is right.
    expect(mostMissed(misses, 10).map((m) => m.index)).toEqual([3, 2, 0, 4]);
    expect(mostMissed(misses, 2).map((m) => m.index)).toEqual([3, 2]);
  });
});
