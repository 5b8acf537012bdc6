// Thumbnails for the UI's dataset view: the same decoding as training sees (orientation, RGB), cropped square.
import { openRgb, ImageReadError, describeDecodeError } from './decode.ts';

export interface Thumbnail {
  data: Buffer;
  mime: 'image/jpeg' | 'image/png';
  width: number;
  height: number;
}

/** `fit` 'inside': the whole image, its longer side `size` (a picture to lay a class map over); default a square crop. */
export async function makeThumbnail(file: string, opts: { size?: number; format?: 'jpeg' | 'png'; fit?: 'cover' | 'inside' } = {}): Promise<Thumbnail> {
  const size = opts.size ?? 96;
  const format = opts.format ?? 'jpeg';
  const p = openRgb(file).resize(size, size, { fit: opts.fit ?? 'cover' });
  try {
    const { data, info } = await (format === 'png' ? p.png() : p.jpeg({ quality: 80 })).toBuffer({ resolveWithObject: true });
    return { data, mime: format === 'png' ? 'image/png' : 'image/jpeg', width: info.width, height: info.height };
  } catch (e) {
    throw new ImageReadError(file, describeDecodeError(e));
  }
}
