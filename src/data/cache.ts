// The training image cache: every training image decoded once, before the first epoch, into RGB bytes whose
// shorter side is enough for the largest training resolution. Augmentation then crops and resizes from memory,
// so no epoch touches the disk or a decoder.
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { openRgb, toRgb, type RgbImage } from './decode.ts';
import { shorterSideResize } from './eval-transform.ts';

/** Default memory the cache may use before its images are stored smaller (2 GiB). */
export const DEFAULT_CACHE_BUDGET_BYTES = 2 * 1024 ** 3;

/**
 * Shorter side to cache for a largest training resolution: maxSize / 0.875, the same margin an evaluation
 * resize keeps, so a crop covering most of the image is shrunk rather than enlarged.
 */
export function defaultCacheShortSide(maxTrainSize: number): number {
  return Math.ceil(maxTrainSize / 0.875);
}

/** Size an image is stored at: shorter side reduced to `shortSide`; smaller images are kept as they are. */
export function cachedSize(width: number, height: number, shortSide: number): { width: number; height: number } {
  return Math.min(width, height) <= shortSide ? { width, height } : shorterSideResize(width, height, shortSide);
}

export interface CachePlan {
  shortSide: number;
  /** Bytes the cache will hold. */
  bytes: number;
  /** True when the budget forced a smaller shorter side than asked for. */
  reduced: boolean;
  /** Set when even `minShortSide` exceeds the budget: the cache is built anyway, at `minShortSide`. */
  overBudget: boolean;
}

/** Picks the shorter side to cache at: `wanted`, or less (never below `minShortSide`) to stay within the budget. */
export function planCache(dims: readonly { width: number; height: number }[], wanted: number, budgetBytes: number, minShortSide: number): CachePlan {
  const bytesAt = (side: number): number => dims.reduce((sum, d) => {
    const s = cachedSize(d.width, d.height, side);
    return sum + s.width * s.height * 3;
  }, 0);
  let side = Math.max(wanted, minShortSide);
  let bytes = bytesAt(side);
  while (bytes > budgetBytes && side > minShortSide) {
    side = Math.max(minShortSide, Math.floor(side * 0.9));
    bytes = bytesAt(side);
  }
  return { shortSide: side, bytes, reduced: side < wanted, overBudget: bytes > budgetBytes };
}

export interface CacheBuildOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export class ImageCache {
  private constructor(
    private readonly images: RgbImage[],
    readonly shortSide: number,
  ) {}

  /** Decodes every file (EXIF orientation, RGB conversion) at `shortSide`. A file that no longer decodes is an
   *  error naming it: the scan checked it, so it changed on disk since. */
  static async build(files: readonly string[], shortSide: number, opts: CacheBuildOptions = {}): Promise<ImageCache> {
    const images = new Array<RgbImage>(files.length);
    let done = 0;
    await forEachLimit(
      files,
      opts.concurrency ?? DEFAULT_CONCURRENCY,
      async (file, i) => {
        const pipeline = openRgb(file).resize(shortSide, shortSide, { fit: 'outside', withoutEnlargement: true });
        images[i] = await toRgb(pipeline, file);
        opts.onProgress?.(++done, files.length);
      },
      opts.signal,
    );
    return new ImageCache(images, shortSide);
  }

  get length(): number {
    return this.images.length;
  }

  get(i: number): RgbImage {
    const img = this.images[i];
    if (!img) throw new RangeError(`image index ${i} is outside the cache (${this.images.length} images)`);
    return img;
  }

  get bytes(): number {
    return this.images.reduce((sum, img) => sum + img.data.byteLength, 0);
  }
}
