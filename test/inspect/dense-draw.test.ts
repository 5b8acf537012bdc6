// The pictures of dense predictions: a class map blended over the photo (the background left alone) and box
// outlines in their class's VOC colour, drawn inside the box and nowhere else.
import { describe, expect, it } from 'vitest';
import { vocPalette } from '../../src/data/mask-png.ts';
import { drawBoxes, overlayClasses } from '../../src/inspect/dense-draw.ts';

const grey = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(100) });
const palette = vocPalette();
const pixel = (img: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));

describe('dense drawings', () => {
  it('blends each class\'s VOC colour at the overlay weight and leaves the background as it was', () => {
    const image = grey(2, 1);
    const out = overlayClasses(image, { width: 2, height: 1, data: Uint8Array.from([0, 15]) }, 0.5);
    expect(pixel(out, 0, 0)).toEqual([100, 100, 100]);
    expect(pixel(out, 1, 0)).toEqual([0, 1, 2].map((k) => Math.round(50 + 0.5 * palette[3 * 15 + k])));
    expect(Array.from(image.data)).toEqual(new Array(6).fill(100));
    expect(() => overlayClasses(image, { width: 1, height: 2, data: new Uint8Array(2) })).toThrow(/a 1×2 class map over a 2×1 image/);
  });

  it('draws a box\'s outline inside it, 2 px wide, in its class\'s colour, and no pixel outside or within', () => {
    const image = grey(20, 16);
    const out = drawBoxes(image, [{ box: [3.2, 4, 12.7, 11], label: 1, score: 0.9 }]);
    const colour = Array.from(palette.subarray(3, 6));
    let coloured = 0;
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 20; x++) {
        const inside = x >= 3 && x < 13 && y >= 4 && y < 11;
        const edge = inside && (x < 5 || x >= 11 || y < 6 || y >= 9);
        expect(pixel(out, x, y), `${x}, ${y}`).toEqual(edge ? colour : [100, 100, 100]);
        if (edge) coloured++;
      }
    }
    expect(coloured).toBeGreaterThan(0);
  });
});
