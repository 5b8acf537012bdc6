// Label masks as PNG: the class of a pixel is its palette index (PASCAL VOC's SegmentationClass) or its grey
// level (single-channel index masks), never its colour. Image decoders (sharp included) expand palettes to
// colours, so indexed and grey PNGs are read here: chunks, zlib, scanline filters, bit unpacking. A mask file is
// hostile like any input: its declared size is checked against a pixel budget before anything is inflated,
// inflation is capped at exactly what that size needs, and every failure is one sentence naming the file.
// The writer makes the palette masks `predict --out` saves (VOC's palette, so viewers show VOC's colours).
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export interface IndexMask {
  width: number;
  height: number;
  /** Class index per pixel, row-major. */
  data: Uint8Array;
}

/** The most pixels a mask may declare (a 8192×8192 image). */
export const MAX_MASK_PIXELS = 8192 * 8192;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const GREY = 0;
const PALETTE = 3;

export class MaskError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'MaskError';
  }
}

/** Decodes an indexed (colour type 3) or grey (colour type 0, up to 8 bits) PNG into class indices. */
export function decodeIndexMask(png: Uint8Array, name = 'mask'): IndexMask {
  const fail = (why: string): never => { throw new MaskError(name, why); };
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) fail('not a PNG file');
  let pos = 8;
  let header: { width: number; height: number; depth: number; colour: number } | undefined;
  const idat: Buffer[] = [];
  for (;;) {
    if (pos + 12 > buf.length) fail('ends before its IEND chunk (truncated)');
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + length > buf.length) fail(`its ${type} chunk runs past the end of the file (truncated)`);
    const body = buf.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === 'IHDR') {
      if (length !== 13) fail('has a malformed IHDR chunk');
      const [width, height] = [body.readUInt32BE(0), body.readUInt32BE(4)];
      const [depth, colour, interlace] = [body[8], body[9], body[12]];
      if (colour !== PALETTE && colour !== GREY) {
        fail(`is a ${colour === 2 || colour === 6 ? 'colour' : `colour type ${colour}`} PNG; a mask must store class indices: a palette PNG or a single-channel (grey) PNG`);
      }
      if (![1, 2, 4, 8].includes(depth)) fail(`has ${depth}-bit pixels; masks of up to 8 bits are read (256 classes)`);
      if (interlace !== 0) fail('is interlaced (Adam7); save it without interlacing');
      if (width === 0 || height === 0 || width * height > MAX_MASK_PIXELS) fail(`declares ${width}×${height} pixels (the limit is ${MAX_MASK_PIXELS} pixels)`);
      header = { width, height, depth, colour };
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (!header) return fail('has no IHDR chunk');
  const { width, height, depth } = header;
  const stride = Math.ceil((width * depth) / 8);
  const expected = height * (stride + 1);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: expected });
  } catch (e) {
    return fail(`its image data does not inflate (${(e as Error).message})`);
  }
  if (raw.length !== expected) fail(`holds ${raw.length} bytes of scanlines where ${width}×${height} needs ${expected} (truncated)`);
  return { width, height, data: unpack(unfilter(raw, height, stride, Math.max(1, depth >> 3), fail), width, height, stride, depth) };
}

/** Undoes PNG's per-scanline filters in place (None, Sub, Up, Average, Paeth); bpp = bytes per pixel, at least 1. */
function unfilter(raw: Buffer, height: number, stride: number, bpp: number, fail: (why: string) => never): Buffer {
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = out.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? out.subarray((y - 1) * stride, y * stride) : undefined;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev ? prev[i] : 0;
      const c = prev && i >= bpp ? prev[i - bpp] : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: return fail(`scanline ${y} has an unknown filter type ${filter}`);
      }
      cur[i] = (line[i] + predictor) & 0xff;
    }
  }
  return out;
}

/** Scanlines of `depth`-bit samples → one byte per pixel. */
function unpack(lines: Buffer, width: number, height: number, stride: number, depth: number): Uint8Array {
  if (depth === 8) return new Uint8Array(lines.buffer, lines.byteOffset, width * height).slice();
  const data = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = lines[y * stride + Math.floor(x / perByte)];
      data[y * width + x] = (byte >> (8 - depth * (1 + (x % perByte)))) & mask;
    }
  }
  return data;
}

/** PASCAL VOC's palette: colour of index i from the bits of i spread over R, G and B (labelcolormap). */
export function vocPalette(): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let [r, g, b, c] = [0, 0, 0, i];
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    palette.set([r, g, b], i * 3);
  }
  return palette;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * An 8-bit palette PNG of `mask` (index 255, VOC's "ignore", included), with VOC's palette by default. With
 * `clear`, those indices are fully transparent (a tRNS chunk), so a map laid over its image leaves them showing
 * the image; the indices themselves are unchanged.
 */
export function encodeIndexMask(mask: IndexMask, palette = vocPalette(), clear: readonly number[] = []): Buffer {
  const { width, height, data } = mask;
  if (data.length !== width * height) throw new MaskError('encodeIndexMask', `${data.length} indices for ${width}×${height} pixels`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, PALETTE, 0, 0, 0], 8);
  const lines = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) lines.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const alpha = new Uint8Array(256).fill(255);
  for (const i of clear) alpha[i] = 0;
  const trns = clear.length ? [chunk('tRNS', alpha)] : [];
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', palette), ...trns, chunk('IDAT', deflateSync(lines)), chunk('IEND', new Uint8Array())]);
}
