// A safetensors file is validated whole before any tensor is built, and its errors never quote its bytes.
import { describe, expect, it } from 'vitest';
import { SafetensorsError, encodeSafetensors, parseSafetensors } from '../../src/model/safetensors.ts';
import { rawSafetensors } from '../helpers/fixtures.ts';

const file = rawSafetensors;

const cases: [string, Buffer, RegExp][] = [
  ['too short', Buffer.from('abc'), /not a safetensors file: 3 bytes is too short/],
  ['a header length larger than the file (8 bytes of text)', Buffer.from('root:*:19000:0:99999:7:::\n'), /not a safetensors file: the header length is larger than the file$/],
  ['a zero header length', Buffer.alloc(16), /the header length is zero/],
  ['a header that is not JSON', file(null, 0, 'SECRET_TOKEN=abc'), /not a safetensors file: the header is not valid UTF-8 JSON$/],
  ['a JSON null header', file(null), /the header is not a JSON object/],
  ['an array header', file([1, 2]), /the header is not a JSON object/],
  ['an unknown dtype', file({ a: { dtype: 'X9', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a" has an unknown dtype/],
  ['a negative dimension', file({ a: { dtype: 'F32', shape: [-1], data_offsets: [4, 0] } }, 4), /tensor "a" has a shape dimension that is not a non-negative integer/],
  ['a fractional dimension', file({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 8), /not a non-negative integer/],
  ['a shape whose product exceeds the file', file({ a: { dtype: 'F32', shape: [1e9, 1e9], data_offsets: [0, 4] } }, 4), /declares more elements than the file holds/],
  ['offsets beyond the data', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /data_offsets outside the file's data/],
  ['offsets reversed', file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 8), /data_offsets outside/],
  ['a size mismatch', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, 8), /needs 4 bytes but its data_offsets span 8/],
  ['overlapping tensors', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /tensors "a" and "b" have overlapping data/],
  ['non-string metadata', file({ __metadata__: { a: 1 } }), /__metadata__ is not an object of strings/],
  ['a null entry', file({ a: null }), /tensor "a" has a header entry that is not an object/],
];

describe('safetensors validation', () => {
  it.each(cases)('%s: one clear error', (_, buf, message) => {
    let err: unknown;
    try {
      parseSafetensors(buf, 'x.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^x\.safetensors: /);
    expect(msg).toMatch(message);
    // Never the file's content, nor an absurd number decoded from it.
    expect(msg).not.toMatch(/SECRET|root|\d{10,}/);
  });

  it('accepts a zero-element tensor (valid safetensors) and round-trips a real one', () => {
    const zero = parseSafetensors(file({ a: { dtype: 'F32', shape: [10000000, 0], data_offsets: [0, 0] } }));
    expect(zero.tensors.get('a')!.shape).toEqual([10000000, 0]);
    const enc = encodeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]), { k: 'v' });
    const back = parseSafetensors(enc);
    expect([...back.tensors.get('w')!.data]).toEqual([1, 2, 3, 4]);
    expect(back.metadata).toEqual({ k: 'v' });
  });

  it('cleans tensor names before quoting them', () => {
    const name = `evil\u0000\n${'x'.repeat(200)}`;
    expect(() => parseSafetensors(file({ [name]: { dtype: 'Q', shape: [], data_offsets: [0, 0] } }))).toThrow(/tensor "evil\?\?x{74}…" has an unknown dtype/);
  });
});
