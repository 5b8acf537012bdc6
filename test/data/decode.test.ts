// Every kind of input the pipeline accepts must come out as the same kind of thing: 8-bit RGB, upright, opaque.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageCache } from '../../src/data/cache.ts';
import { ImageReadError, openRgb, orientedSize, toRgb, type RgbImage } from '../../src/data/decode.ts';
import { makeThumbnail } from '../../src/data/thumbnail.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mvs-decode-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A 32x16 image: left half red, right half blue (large flat areas survive JPEG). */
const W = 32;
const H = 16;
function leftRedRightBlue(): Buffer {
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set(x < W / 2 ? [230, 20, 20] : [20, 20, 230], (y * W + x) * 3);
  return px;
}
const raw = (): Sharp => sharp(leftRedRightBlue(), { raw: { width: W, height: H, channels: 3 } });

async function decode(name: string, data: Buffer): Promise<RgbImage> {
  const file = join(tmp, name);
  await writeFile(file, data);
  return toRgb(openRgb(file), file);
}

const pixel = (img: RgbImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const near = (actual: number[], expected: number[], tol: number): void => {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
};

describe('decoding to RGB', () => {
  it('keeps 8-bit RGB PNG exactly', async () => {
    const img = await decode('rgb.png', await raw().png().toBuffer());
    expect(Buffer.from(img.data).equals(leftRedRightBlue())).toBe(true);
  });

  it('turns greyscale into three equal channels', async () => {
    const img = await decode('grey.png', await raw().toColourspace('b-w').png().toBuffer());
    expect(img.data.length).toBe(W * H * 3);
    const [r, g, b] = pixel(img, 2, 2);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });

  it('flattens transparency onto white', async () => {
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba.set(i % W < W / 2 ? [0, 0, 0, 0] : [20, 20, 230, 255], i * 4); // left transparent
    const img = await decode('alpha.png', await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer());
    expect(pixel(img, 1, 1)).toEqual([255, 255, 255]);
    expect(pixel(img, W - 2, 1)).toEqual([20, 20, 230]);
  });

  it('reduces 16-bit PNG to the matching 8-bit values', async () => {
    const png16 = await raw().toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const img = await decode('deep.png', png16);
    expect(Buffer.from(img.data).equals(leftRedRightBlue())).toBe(true);
  });

  it('converts a palette PNG', async () => {
    const img = await decode('palette.png', await raw().png({ palette: true, colours: 4 }).toBuffer());
    near(pixel(img, 2, 2), [230, 20, 20], 8);
  });

  it('converts CMYK JPEG to RGB', async () => {
    const cmyk = await raw().toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const img = await decode('cmyk.jpg', cmyk);
    near(pixel(img, 4, 8), [230, 20, 20], 40);
    // saturated blue lies outside the CMYK gamut: it comes back duller, but blue
    const [r, g, b] = pixel(img, W - 4, 8);
    expect(b).toBeGreaterThan(Math.max(r, g) + 60);
  });

  it('applies EXIF orientation', async () => {
    // Orientation 6: the stored image must be turned 90° clockwise to display, so its left half ends on top.
    const img = await decode('rotated.jpg', await raw().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
    expect([img.width, img.height]).toEqual([H, W]);
    near(pixel(img, H / 2, 3), [230, 20, 20], 30);
    near(pixel(img, H / 2, W - 3), [20, 20, 230], 30);
    expect(await orientedSize(join(tmp, 'rotated.jpg'))).toMatchObject({ width: H, height: W }); // what the scan reports
  });

  it('reads WebP, TIFF, AVIF and the first frame of an animated GIF', async () => {
    for (const [name, data] of [
      ['x.webp', await raw().webp({ lossless: true }).toBuffer()],
      ['x.tiff', await raw().tiff().toBuffer()],
      ['x.avif', await raw().avif({ lossless: true }).toBuffer()],
    ] as const) {
      const img = await decode(name, data);
      near(pixel(img, 4, 8), [230, 20, 20], 12);
    }
    const frame = (colour: string): Promise<Buffer> => sharp({ create: { width: 8, height: 8, channels: 3, background: colour } }).png().toBuffer();
    const gif = await sharp([await frame('#00ff00'), await frame('#ff00ff')], { join: { animated: true } }).gif().toBuffer();
    const img = await decode('anim.gif', gif);
    expect([img.width, img.height]).toEqual([8, 8]);
    near(pixel(img, 3, 3), [0, 255, 0], 4);
  });

  it('names the file when decoding fails', async () => {
    const file = join(tmp, 'bad.png');
    await writeFile(file, 'nope');
    const err = await toRgb(openRgb(file), file).catch((e) => e);
    expect(err).toBeInstanceOf(ImageReadError);
    expect(err.message).toContain(file);
    await expect(ImageCache.build([file], 64)).rejects.toThrow(file);
    await expect(makeThumbnail(file)).rejects.toThrow(file);
  });
});

describe('image cache', () => {
  it('stores the shorter side at the asked size, keeps smaller images as they are, and applies orientation', async () => {
    const big = join(tmp, 'big.png');
    await sharp({ create: { width: 200, height: 100, channels: 4, background: '#336699' } }).png().toFile(big);
    const small = join(tmp, 'small.jpg');
    await raw().jpeg().withMetadata({ orientation: 6 }).toFile(small);
    const cache = await ImageCache.build([big, small], 50);
    expect([cache.get(0).width, cache.get(0).height]).toEqual([100, 50]);
    expect([cache.get(1).width, cache.get(1).height]).toEqual([H, W]);
    expect(cache.bytes).toBe(100 * 50 * 3 + W * H * 3);
    expect(() => cache.get(2)).toThrow(/outside the cache/);
  });
});

describe('thumbnails', () => {
  it('are square JPEG or PNG at the asked size', async () => {
    const file = join(tmp, 'thumb-src.png');
    await raw().png().toFile(file);
    const jpg = await makeThumbnail(file);
    expect(jpg.mime).toBe('image/jpeg');
    expect(await sharp(jpg.data).metadata()).toMatchObject({ format: 'jpeg', width: 96, height: 96 });
    const png = await makeThumbnail(file, { size: 40, format: 'png' });
    expect(await sharp(png.data).metadata()).toMatchObject({ format: 'png', width: 40, height: 40 });
  });
});
