// The input image of an inspection, kept as floats (height × width × 3 in [0, 1]) so that the overlays
// are drawn over exactly the pixels the model saw.
import { decodeForEval } from '../data/eval-transform.ts';
import type { RgbImage } from './overlay.ts';

/**
 * A file through the evaluation transform (resize the shorter side, centre crop to size × size); `crop` is
 * the centre fraction kept (a run's recorded evaluation crop; default the reference 0.9).
 */
export async function loadImage(file: string, size: number, crop?: number | null): Promise<RgbImage> {
  const img = await decodeForEval(file, size, crop ?? undefined);
  return { data: img.data, height: img.height, width: img.width };
}

export { imageTensor, randomImage } from './tensor-image.ts';
