// The device frame codec (src/device/wire.ts): what the engine and a Chromium page exchange over a WebSocket.
// A message comes back as it went (typed arrays of every kind it carries, views into larger buffers, Maps,
// nulls, non-finite numbers); a malformed frame is refused with FrameError, never read as some other message.
import { describe, expect, it } from 'vitest';
import { FrameError, decodeFrame, encodeFrame } from '../../src/device/wire.ts';

/** A frame written by hand: the u32 header length, the header text, then `tail` bytes (zeros unless given). */
function rawFrame(header: string | Uint8Array, tail: number | Uint8Array = 0, claimed?: number): ArrayBuffer {
  const head = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const rest = typeof tail === 'number' ? new Uint8Array(tail) : tail;
  const out = new Uint8Array(4 + head.length + rest.length);
  new DataView(out.buffer).setUint32(0, claimed ?? head.length, true);
  out.set(head, 4);
  out.set(rest, 4 + head.length);
  return out.buffer;
}

/** A 192-byte frame whose header (padded with spaces, as JSON allows) ends at 128: buffers may lie in [128, 192). */
const withTable = (m: string, table: string) => rawFrame(`{"m":${m},"b":${table}}`.padEnd(124), 64);

const bytesOf = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('device frames round-trip', () => {
  it('a nested message with every array type, Maps and nulls comes back equal, arrays of the same type', () => {
    const f32 = Float32Array.from([1.5, -0, 3.4028234663852886e38, 1e-45, -2]);
    const message = {
      id: 7,
      ok: true,
      result: {
        weights: new Map<string, unknown>([
          ['stem.conv.weight', { shape: [2, 1, 1, 2], data: Float32Array.from([0.25, -1, 2, 3]) }],
          ['empty', { shape: [0], data: new Float32Array(0) }],
        ]),
        labels: Int32Array.from([0, -1, 2147483647, -2147483648]),
        mask: Uint8Array.from([0, 255, 7]),
        nothing: null,
        list: [1, 'two', null, [f32, { deep: new Map([[3, [Int32Array.of(9)]]]) }]],
        text: 'ü \u2028 "quoted"',
      },
    };
    const back = decodeFrame(encodeFrame(message)) as typeof message;
    expect(back).toEqual(message);
    const arr = (back.result.list[3] as unknown[])[0] as Float32Array;
    expect(arr).toBeInstanceOf(Float32Array);
    expect(bytesOf(arr)).toEqual(bytesOf(f32)); // bit for bit: -0, the largest float and a denormal
    expect(back.result.labels).toBeInstanceOf(Int32Array);
    expect(back.result.mask).toBeInstanceOf(Uint8Array);
    expect(back.result.weights).toBeInstanceOf(Map);
  });

  it('subarray views carry only their own elements and decode aligned, wherever they started', () => {
    const bigF = Float32Array.from({ length: 64 }, (_, i) => i + 0.5);
    const bigI = Int32Array.from({ length: 16 }, (_, i) => -i);
    const bigU = Uint8Array.from({ length: 40 }, (_, i) => 200 + i);
    const message = { a: bigF.subarray(1, 6), b: bigI.subarray(3), c: bigU.subarray(3, 8), d: bigU.subarray(40), e: bigF.subarray(63) };
    expect(message.a.byteOffset).toBe(4); // not 8-aligned in its own buffer
    const frame = encodeFrame(message);
    expect(frame.byteLength % 8).toBe(0);
    expect(frame.byteLength).toBeLessThan(512); // the views, not their whole buffers
    const back = decodeFrame(frame) as typeof message;
    expect(Array.from(back.a)).toEqual([1.5, 2.5, 3.5, 4.5, 5.5]);
    expect(Array.from(back.b)).toEqual(Array.from(bigI.subarray(3)));
    expect(Array.from(back.c)).toEqual([203, 204, 205, 206, 207]);
    expect(back.d.length).toBe(0);
    expect(Array.from(back.e)).toEqual([63.5]);
    for (const v of Object.values(back)) {
      expect(v.buffer).toBe(frame); // views into the frame, no copy
      expect(v.byteOffset % 8).toBe(0);
    }
  });

  it('non-finite numbers arrive as themselves, not as null (a diverged step reports a NaN loss)', () => {
    const message = { loss: NaN, gradNorm: Infinity, low: -Infinity, list: [NaN, 1], map: new Map([['x', -Infinity]]) };
    const back = decodeFrame(encodeFrame(message)) as typeof message;
    expect(back.loss).toBeNaN();
    expect(back.gradNorm).toBe(Infinity);
    expect(back.low).toBe(-Infinity);
    expect(back.list[0]).toBeNaN();
    expect(back.map.get('x')).toBe(-Infinity);
  });

  it('a frame copied into a fresh buffer decodes the same (the engine copies what ws hands it)', () => {
    const message = { x: Float32Array.from([1, 2, 3]), n: 3 };
    expect(decodeFrame(encodeFrame(message).slice(0))).toEqual(message);
  });

  it('refuses to encode what would not come back as itself', () => {
    expect(() => encodeFrame({ x: new Float64Array(2) })).toThrow(/Float64Array/);
    expect(() => encodeFrame({ x: new DataView(new ArrayBuffer(4)) })).toThrow(/DataView/);
    expect(() => encodeFrame({ x: new ArrayBuffer(8) })).toThrow(/ArrayBuffer/);
    expect(() => encodeFrame({ x: new Uint16Array(2) })).toThrow(/Uint16Array/);
    expect(() => encodeFrame({ x: { $b: 0, t: 'f32' } })).toThrow(/reserved/);
    expect(() => encodeFrame([{ $n: 'NaN' }])).toThrow(/reserved/);
  });
});

describe('malformed device frames', () => {
  const refused: [string, ArrayBuffer][] = [
    ['empty', new ArrayBuffer(0)],
    ['shorter than the length field', new Uint8Array([1, 0, 0]).buffer],
    ['header length past the end', rawFrame('{"m":1,"b":[]}', 0, 15)],
    ['header length 2^32 - 1', rawFrame('{"m":1,"b":[]}', 0, 0xffffffff)],
    ['header not JSON', rawFrame('{"m":1,"b":[]')],
    ['header not UTF-8', rawFrame(new Uint8Array([...new TextEncoder().encode('{"b":[],"m":"'), 0xff, 0x22, 0x7d]))],
    ['header null', rawFrame('null')],
    ['header a number', rawFrame('5')],
    ['no buffer table', rawFrame('{"m":1}')],
    ['buffer table not a list', rawFrame('{"m":1,"b":{}}')],
    ['no message', rawFrame('{"b":[]}')],
    ['buffer past the end', withTable('{"$b":0,"t":"f32"}', '[[128,72]]')],
    ['buffer over the header', withTable('{"$b":0,"t":"f32"}', '[[120,8]]')],
    ['buffer misaligned', withTable('{"$b":0,"t":"u8"}', '[[132,8]]')],
    ['buffer not a whole number of elements', withTable('{"$b":0,"t":"f32"}', '[[128,6]]')],
    ['buffer of negative length', withTable('{"$b":0,"t":"u8"}', '[[128,-8]]')],
    ['buffer offset not an integer', withTable('{"$b":0,"t":"u8"}', '[[128.5,8]]')],
    ['buffer offset a string', withTable('{"$b":0,"t":"u8"}', '[["128",8]]')],
    ['buffer entry not a pair', withTable('{"$b":0,"t":"u8"}', '[128]')],
    ['buffer index missing from the table', withTable('{"$b":1,"t":"u8"}', '[[128,8]]')],
    ['buffer index a string', withTable('{"$b":"0","t":"u8"}', '[[128,8]]')],
    ['unknown array type', withTable('{"$b":0,"t":"f64"}', '[[128,8]]')],
    ['array type from the prototype', withTable('{"$b":0,"t":"constructor"}', '[[128,8]]')],
    ['array without a type', withTable('{"$b":0}', '[[128,8]]')],
    ['map without entries', rawFrame('{"m":{"$m":5},"b":[]}')],
    ['map entry not a pair', rawFrame('{"m":{"$m":[[1,2,3]]},"b":[]}')],
    ['unknown non-finite number', rawFrame('{"m":{"$n":"Huge"},"b":[]}')],
    ['non-finite number not a string', rawFrame('{"m":{"$n":5},"b":[]}')],
    ['nested too deep', rawFrame(`{"m":${'['.repeat(200_000)}${']'.repeat(200_000)},"b":[]}`)],
  ];

  it.each(refused)('%s: FrameError', (_, frame) => {
    expect(() => decodeFrame(frame)).toThrow(FrameError);
  });

  it('the hand-written frames are refused for what they break, not for how they are written', () => {
    // The same layout with a valid table decodes: the cases above fail on their one defect.
    expect(Array.from(decodeFrame(withTable('{"$b":0,"t":"f32"}', '[[128,8]]')) as Float32Array)).toEqual([0, 0]);
    expect(Array.from(decodeFrame(withTable('{"$b":0,"t":"u8"}', '[[184,8]]')) as Uint8Array)).toEqual(new Array(8).fill(0));
    expect(decodeFrame(rawFrame('{"m":{"$m":[[1,{"$n":"-Infinity"}]]},"b":[]}'))).toEqual(new Map([[1, -Infinity]]));
  });

  it('a truncated frame is refused or, cut only in its padding, still reads as the whole message', () => {
    const message = { id: 1, x: Float32Array.from([1, 2, 3]), y: Uint8Array.of(1, 2, 3, 4, 5), z: Int32Array.of(-7) };
    const frame = encodeFrame(message);
    for (let n = 0; n < frame.byteLength; n++) {
      let back: unknown;
      try {
        back = decodeFrame(frame.slice(0, n));
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(FrameError);
        continue;
      }
      expect(back, `cut at ${n}`).toEqual(message);
    }
  });

  it('a corrupted header byte gives FrameError or a message, never another exception', () => {
    const frame = new Uint8Array(encodeFrame({ id: 2, data: new Map([['k', Float32Array.of(1, 2)]]), n: null, v: [NaN] }));
    const headEnd = 4 + new DataView(frame.buffer).getUint32(0, true);
    for (let i = 0; i < headEnd; i++) {
      for (const b of [0x00, 0x22, 0x2c, 0x30, 0x39, 0x5b, 0x7b, 0x7d, 0xff]) {
        const bad = frame.slice();
        bad[i] = b;
        try {
          decodeFrame(bad.buffer);
        } catch (e) {
          expect(e, `byte ${i} = ${b}`).toBeInstanceOf(FrameError);
        }
      }
    }
  });
});
