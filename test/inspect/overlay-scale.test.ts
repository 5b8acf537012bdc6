// The attention overlay's colour scale: stretched over the patches other than the query.
import { describe, expect, it } from 'vitest';
import { attentionOverlayScale, type AttentionAnswer } from '../../src/inspect/attention.ts';
import { normalise } from '../../src/inspect/overlay.ts';

const answer = (map: number[][], patch: [number, number], imageSize: [number, number]) =>
  ({ map, patch, grid: [map.length, map[0].length], imageSize } as unknown as AttentionAnswer);

describe('attention overlay scale', () => {
  it('spans the other patches on the pixel scale, leaving the query patch saturated', () => {
    const map = [[0.1, 0.05], [0.6, 0.25]];
    const scale = attentionOverlayScale(answer(map, [1, 0], [4, 4]));
    // 2×2 cells over 4×4 pixels: each cell's share spreads over 4 pixels.
    expect(scale).toEqual({ kind: 'range', lo: 0.05 / 4, hi: 0.25 / 4 });
    const t = normalise([0.05 / 4, 0.1 / 4, 0.25 / 4, 0.6 / 4], scale);
    expect([...t].map((v) => +v.toFixed(4))).toEqual([0, 0.25, 1, 1]);
  });

  it('maps equal shares of the other patches (a flat map) to the middle, the query patch to the top', () => {
    const map = [[0.4, 0.2], [0.2, 0.2]];
    const scale = attentionOverlayScale(answer(map, [0, 0], [2, 2]));
    expect([...normalise([0.2, 0.2, 0.4], scale)]).toEqual([0.5, 0.5, 1]);
  });
});
