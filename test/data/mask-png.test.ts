// Label masks read as class indices: PNGs written by two independent encoders (Pillow, fixtures in
// test/fixtures/masks/ with the indices it was given; libpng through sharp, with its adaptive scanline
// filters), the studio's own palette writer, and hostile files.
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeIndexMask, encodeIndexMask, MaskError, vocPalette } from '../../src/data/mask-png.ts';
import { fixture } from '../helpers/fixtures.ts';

const expected = JSON.parse(readFileSync(fixture('masks/expected.json'), 'utf8')) as { width: number; height: number; indices: Record<string, number[]> };

describe('decodeIndexMask', () => {
  it.each(Object.keys(expected.indices))('reads Pillow\'s %s as the indices it was given', (file) => {
    const mask = decodeIndexMask(readFileSync(fixture(`masks/${file}`)), file);
    expect([mask.width, mask.height]).toEqual([expected.width, expected.height]);
    expect(Array.from(mask.data)).toEqual(expected.indices[file]);
  });

  it('reads a grey PNG written by libpng (sharp), whose scanlines use the Sub, Up and Paeth filters', async () => {
    const [w, h] = [61, 47];
    const pixels = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) * 5 + Math.floor(i / w) * 3 + ((i * 2654435761) >>> 28)) & 0xff);
    const png = await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer();
    const mask = decodeIndexMask(png);
    expect(Array.from(mask.data)).toEqual(Array.from(pixels));
  });

  it('undoes the Average filter (the one filter libpng did not choose above)', () => {
    // Two rows of 3 grey pixels [10, 20, 30] / [40, 50, 60]; the second row Average-filtered by hand:
    // byte − floor((left + up) / 2), left being the row's previous pixel (0 before the first), up the pixel above:
    // 40 − floor((0 + 10) / 2), 50 − floor((40 + 20) / 2), 60 − floor((50 + 30) / 2).
    const lines = Buffer.from([0, 10, 20, 30, 3, 40 - 5, 50 - 30, 60 - 40]);
    const png = encodeIndexMask({ width: 3, height: 2, data: new Uint8Array(6) });
    const at = png.indexOf('IDAT') - 4;
    const body = deflateSync(lines);
    const idat = Buffer.concat([Buffer.alloc(4), Buffer.from('IDAT'), body, Buffer.alloc(4)]);
    idat.writeUInt32BE(body.length, 0);
    const file = Buffer.concat([png.subarray(0, at), idat, png.subarray(png.indexOf('IEND') - 4)]);
    // Colour type 3 → 0 (grey) in IHDR, so the indices are the bytes themselves.
    file[25] = 0;
    expect(Array.from(decodeIndexMask(file).data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('round-trips the studio\'s palette masks, 255 included, with VOC\'s colours', async () => {
    const [w, h] = [9, 5];
    const data = Uint8Array.from({ length: w * h }, (_, i) => (i % 7 === 0 ? 255 : i % 21));
    const png = encodeIndexMask({ width: w, height: h, data });
    expect(Array.from(decodeIndexMask(png).data)).toEqual(Array.from(data));
    // A viewer (libvips here) shows VOC's colours: index 1 is (128, 0, 0), index 15 (person) is (192, 128, 128).
    const { data: rgb } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(rgb.subarray(3, 6))).toEqual([128, 0, 0]);
    expect(Array.from(vocPalette().subarray(45, 48))).toEqual([192, 128, 128]);
    // With the background clear (the window's maps over their image), index 0 is transparent and nothing else is.
    const clear = encodeIndexMask({ width: w, height: h, data }, vocPalette(), [0]);
    expect(Array.from(decodeIndexMask(clear).data)).toEqual(Array.from(data));
    const { data: rgba } = await sharp(clear).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    data.forEach((c, i) => expect(rgba[4 * i + 3], `pixel ${i} (class ${c})`).toBe(c === 0 ? 0 : 255));
  });

  it('refuses colour, truncated, oversized and non-PNG files with one sentence naming the file', () => {
    expect(() => decodeIndexMask(readFileSync(fixture('masks/rgb.png')), 'rgb.png')).toThrow(/^rgb\.png: is a colour PNG; a mask must store class indices/);
    const good = encodeIndexMask({ width: 4, height: 4, data: new Uint8Array(16) });
    expect(() => decodeIndexMask(good.subarray(0, good.length - 20), 'cut.png')).toThrow(/^cut\.png: .*truncated/);
    expect(() => decodeIndexMask(Buffer.from('GIF89a'), 'x.gif')).toThrow(/^x\.gif: not a PNG file$/);
    // A header declaring 100000×100000 pixels over a few bytes of data: refused before anything is inflated.
    const huge = Buffer.from(good);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(() => decodeIndexMask(huge, 'huge.png')).toThrow(/^huge\.png: declares 100000×100000 pixels/);
    // A small header over a zlib bomb: inflation stops at what the header needs.
    const bomb = Buffer.from(good);
    const idatAt = bomb.indexOf('IDAT') - 4;
    const payload = deflateSync(Buffer.alloc(50_000_000));
    const withBomb = Buffer.concat([bomb.subarray(0, idatAt), Buffer.from([0, 0, 0, 0]), Buffer.from('IDAT'), payload, Buffer.alloc(4), Buffer.from([0, 0, 0, 0]), Buffer.from('IEND'), Buffer.alloc(4)]);
    withBomb.writeUInt32BE(payload.length, idatAt);
    expect(() => decodeIndexMask(withBomb, 'bomb.png')).toThrow(MaskError);
  });
});
