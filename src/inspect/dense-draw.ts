// Pictures of dense predictions over the image's own pixels: a class map blended over it, boxes drawn on it.
// Colours are PASCAL VOC's palette by class index (mask-png.ts), so an overlay, a saved palette mask and a box
// of the same class agree. Both return a new RGB buffer (fromRgb(…).png() encodes it).
import type { RgbImage } from '../data/decode.ts';
import { vocPalette, type IndexMask } from '../data/mask-png.ts';
import type { Detection } from './dense-predict.ts';

/** Class `index`'s colour in PASCAL VOC's palette: the colour of its pixels in a class map and of its boxes. */
export function classColour(index: number, palette = vocPalette()): [number, number, number] {
  const i = 3 * (index % 256);
  return [palette[i], palette[i + 1], palette[i + 2]];
}

/** How much of the class colour an overlay pixel takes. */
export const OVERLAY_ALPHA = 0.5;

/**
 * `map` blended over `image` (same size) with weight `alpha`; background pixels (class 0) are left as they are,
 * since VOC's background colour is black and would only darken the photo.
 */
export function overlayClasses(image: RgbImage, map: IndexMask, alpha = OVERLAY_ALPHA, palette = vocPalette()): RgbImage {
  if (map.width !== image.width || map.height !== image.height) {
    throw new RangeError(`a ${map.width}×${map.height} class map over a ${image.width}×${image.height} image`);
  }
  const data = Uint8Array.from(image.data);
  map.data.forEach((c, i) => {
    if (c === 0) return;
    for (let k = 0; k < 3; k++) data[3 * i + k] = Math.round((1 - alpha) * image.data[3 * i + k] + alpha * palette[3 * c + k]);
  });
  return { width: image.width, height: image.height, data };
}

/** The rectangles' line width: 2 px, thicker on large images so boxes stay visible when shown smaller. */
export function boxLineWidth(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) / 250));
}

/** Each detection's rectangle outline drawn on a copy of `image`, inside its box, in its class's colour. */
export function drawBoxes(image: RgbImage, detections: readonly Detection[], palette = vocPalette()): RgbImage {
  const { width, height } = image;
  const data = Uint8Array.from(image.data);
  const line = boxLineWidth(width, height);
  const fill = (x0: number, y0: number, x1: number, y1: number, colour: Uint8Array) => {
    for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) {
      for (let x = Math.max(0, x0); x < Math.min(width, x1); x++) data.set(colour, 3 * (y * width + x));
    }
  };
  for (const { box, label } of detections) {
    const colour = palette.subarray(3 * (label % 256), 3 * (label % 256) + 3);
    // Pixel columns x0 … x1 − 1 are covered by a box from x0 to x1: the outline is the innermost `line` of them.
    const [x0, y0, x1, y1] = [Math.floor(box[0]), Math.floor(box[1]), Math.ceil(box[2]), Math.ceil(box[3])];
    fill(x0, y0, x1, y0 + line, colour);
    fill(x0, y1 - line, x1, y1, colour);
    fill(x0, y0, x0 + line, y1, colour);
    fill(x1 - line, y0, x1, y1, colour);
  }
  return { width, height, data };
}

