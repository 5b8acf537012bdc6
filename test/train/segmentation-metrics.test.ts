// mIoU and the other segmentation scores on cases worked out by hand.
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../../src/util/mask-values.ts';
import { PixelConfusion } from '../../src/train/segmentation-metrics.ts';

describe('PixelConfusion', () => {
  it('computes IoU from totals over all images, not a mean of per-image IoUs', () => {
    const m = new PixelConfusion(2);
    // Image 1: 4 pixels of class 1, all found. Image 2: 4 pixels of class 1, one found, three called 0;
    // 4 pixels of class 0 all found.
    m.add([1, 1, 1, 1], [1, 1, 1, 1]);
    m.add([1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]);
    const s = m.scores();
    // class 1: TP 5, FN 3, FP 0 → 5/8; class 0: TP 4, FP 3, FN 0 → 4/7.
    expect(s.perClassIou[1]).toBeCloseTo(5 / 8, 12);
    expect(s.perClassIou[0]).toBeCloseTo(4 / 7, 12);
    expect(s.miou).toBeCloseTo((5 / 8 + 4 / 7) / 2, 12);
    expect(s.pixelAccuracy).toBeCloseTo(9 / 12, 12);
    expect(s.meanClassAccuracy).toBeCloseTo((4 / 4 + 5 / 8) / 2, 12);
    expect(s.confusion).toEqual([[4, 0], [3, 5]]);
    expect(s.pixels).toBe(12);
  });

  it('skips ignore pixels, and leaves classes seen nowhere out of the means', () => {
    const m = new PixelConfusion(4);
    m.add([0, 1, 3, 2, 2], [0, 1, IGNORE_INDEX, IGNORE_INDEX, 1]);
    const s = m.scores();
    // class 0: 1/1; class 1: TP 1, FN 1 (called 2) → 1/2; class 2: FP 1 only → 0; class 3: nowhere (its pixel was ignored).
    expect(s.perClassIou).toEqual([1, 0.5, 0, null]);
    expect(s.miou).toBeCloseTo(0.5, 12);
    expect(s.perClassAccuracy).toEqual([1, 0.5, null, null]);
    expect(s.meanClassAccuracy).toBeCloseTo(0.75, 12);
    expect(s.pixels).toBe(3);
  });

  it('names a label or prediction outside the classes, and mismatched lengths', () => {
    const m = new PixelConfusion(3);
    expect(() => m.add([0, 7], [0, 1])).toThrow(/pixel 1 has label 1 and prediction 7, outside 0..2/);
    expect(() => m.add([0], [0, 1])).toThrow(/1 predictions for 2 labels/);
    expect(new PixelConfusion(3).scores().miou).toBe(0);
  });
});
