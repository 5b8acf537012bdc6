// A read-only zip reader for the archives the studio meets (PyTorch's checkpoints: one stored file per tensor
// plus data.pkl). The central directory is read from the end of the file; each entry's data is located
// through its local header. Stored and deflated entries are read (inflation capped at the declared size),
// zip64 sizes and offsets included. The archive is hostile: every offset and size is checked against the file.
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

export class ZipError extends Error {}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

/** True when `bytes` start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();

  constructor(private readonly buf: Buffer, private readonly name = 'archive') {
    const eocd = this.findEocd();
    let count = buf.readUInt16LE(eocd + 10);
    let dirSize = buf.readUInt32LE(eocd + 12);
    let dirOffset = buf.readUInt32LE(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && buf.readUInt32LE(locator) === EOCD64_LOCATOR) {
      const at = this.safeNumber(buf.readBigUInt64LE(locator + 8));
      this.need(at, 56, 'zip64 end record');
      if (buf.readUInt32LE(at) !== EOCD64) this.fail('has a broken zip64 end record');
      count = this.safeNumber(buf.readBigUInt64LE(at + 32));
      dirSize = this.safeNumber(buf.readBigUInt64LE(at + 40));
      dirOffset = this.safeNumber(buf.readBigUInt64LE(at + 48));
    }
    this.need(dirOffset, dirSize, 'central directory');
    let p = dirOffset;
    for (let i = 0; i < count; i++) {
      this.need(p, 46, 'central directory entry');
      if (buf.readUInt32LE(p) !== CENTRAL) this.fail(`has a broken central directory (entry ${i})`);
      const method = buf.readUInt16LE(p + 10);
      let compressedSize = buf.readUInt32LE(p + 20);
      let size = buf.readUInt32LE(p + 24);
      const nameLength = buf.readUInt16LE(p + 28);
      const extraLength = buf.readUInt16LE(p + 30);
      const commentLength = buf.readUInt16LE(p + 32);
      let headerOffset = buf.readUInt32LE(p + 42);
      this.need(p + 46, nameLength + extraLength, 'entry name');
      const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
      // zip64: the sizes and offset that overflowed 32 bits follow in extra field 0x0001, in this order.
      let extra = p + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = buf.readUInt16LE(extra);
        const len = buf.readUInt16LE(extra + 2);
        if (id === 1) {
          let q = extra + 4;
          const next = () => { const v = this.safeNumber(buf.readBigUInt64LE(q)); q += 8; return v; };
          if (size === U32_MAX) size = next();
          if (compressedSize === U32_MAX) compressedSize = next();
          if (headerOffset === U32_MAX) headerOffset = next();
        }
        extra += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, headerOffset });
      p += 46 + nameLength + extraLength + commentLength;
    }
  }

  /** The entry's bytes (a view into the archive for stored entries). */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) this.fail(`has no entry ${name}`);
    const { buf } = this;
    this.need(e!.headerOffset, 30, `local header of ${name}`);
    if (buf.readUInt32LE(e!.headerOffset) !== LOCAL) this.fail(`has a broken local header for ${name}`);
    const start = e!.headerOffset + 30 + buf.readUInt16LE(e!.headerOffset + 26) + buf.readUInt16LE(e!.headerOffset + 28);
    this.need(start, e!.compressedSize, name);
    const raw = buf.subarray(start, start + e!.compressedSize);
    if (e!.method === 0) {
      if (e!.size !== e!.compressedSize) this.fail(`declares a stored entry ${name} of ${e!.size} bytes in ${e!.compressedSize}`);
      return raw;
    }
    if (e!.method === 8) {
      try {
        const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e!.size) });
        if (out.length !== e!.size) this.fail(`entry ${name} inflates to ${out.length} bytes, not the declared ${e!.size}`);
        return out;
      } catch (err) {
        if (err instanceof ZipError) throw err;
        return this.fail(`entry ${name} does not inflate (${(err as Error).message})`);
      }
    }
    return this.fail(`entry ${name} uses compression method ${e!.method}; only stored and deflated entries are read`);
  }

  private findEocd(): number {
    const { buf } = this;
    // The end record is 22 bytes plus a comment of up to 65,535.
    for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - 0xffff); p--) {
      if (buf.readUInt32LE(p) === EOCD) return p;
    }
    return this.fail('is not a zip archive (no end of central directory)');
  }

  private need(offset: number, length: number, what: string): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.buf.length)) this.fail(`is truncated or corrupt: its ${what} lies outside the file`);
  }

  private safeNumber(v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('declares an offset or size beyond any file');
    return Number(v);
  }

  private fail(why: string): never {
    throw new ZipError(`${this.name} ${why}`);
  }
}
