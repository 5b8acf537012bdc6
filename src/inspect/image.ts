// The input image of an inspection, kept as floats (height × width × 3 in [0, 1]) so that the overlays
// are drawn over exactly the pixels the model saw.
import { decodeForEval } from '../data/eval-transform.ts';
import type { Preprocessing } from '../protocol/recipe.ts';
import type { RgbImage } from './overlay.ts';

/** A file through the model's preprocessing (src/protocol/recipe.ts inferencePreprocessing). */
export async function loadImage(file: string, p: Preprocessing): Promise<RgbImage> {
  const img = await decodeForEval(file, p.imageSize, p.cropPct, p.interpolation);
  return { data: img.data, height: img.height, width: img.width };
}

export { imageTensor, randomImage } from './tensor-image.ts';
