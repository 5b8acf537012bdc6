// The kernels bench's whole-step shape (KERNELS_BENCH_STEP): its default, issue 23's 256 px, and bad values refused in one line.
import { describe, expect, it } from 'vitest';
import { stepShape } from '../../bench/kernels.ts';

describe('the kernels bench step shape', () => {
  it('reads <size>x<batch>, 128x16 by default, and refuses anything else', () => {
    expect(stepShape()).toEqual([128, 16]);
    expect(stepShape('256x16')).toEqual([256, 16]);
    for (const bad of ['256', '16x16', '256x0', '256 x 16']) expect(() => stepShape(bad)).toThrow(`KERNELS_BENCH_STEP must be <size>x<batch> with a size of at least 32 px (256x16), got "${bad}"`);
  });
});
