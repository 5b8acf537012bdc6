// The malformed-file corpus: hostile or broken weights, images, labels and datasets, each a row of data with
// the one-line error it must give. Every error arrives within a few seconds, names the file, and quotes none of
// its bytes; the cases that used to exhaust memory run the CLI in a child process and bound its peak RSS.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForEval } from '../../src/data/eval-transform.ts';
import { scanDataset } from '../../src/data/scan.ts';
import { modelFromWeights } from '../../src/model/from-file.ts';
import { encodeSafetensors } from '../../src/model/safetensors.ts';
import { ModelRef, parseParams } from '../../src/protocol/contract.ts';
import { fixture, rawSafetensors } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'mvit-hostile-'));
const W10 = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');
const at = (name: string) => join(dir, name);

const safetensors = rawSafetensors;

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}
/** A PNG that claims width × height and holds no pixels (only decoding it would find out). */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(0))), pngChunk('IEND', Buffer.alloc(0))]);
}

beforeAll(async () => {
  // The 90-byte file of the report: a zero-element classifier bias whose first dimension is ten million.
  writeFileSync(at('huge-head.safetensors'), safetensors({ 'head.fc.bias': { dtype: 'F32', shape: [10000000, 0], data_offsets: [0, 0] } }));
  writeFileSync(at('many-classes.safetensors'), encodeSafetensors(new Map([['head.fc.bias', { shape: [200_000], data: new Float32Array(200_000) }]])));
  writeFileSync(at('shadow-like'), 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  writeFileSync(at('secret-prefix.safetensors'), safetensors(null, 0, 'SECRET_TOKEN=hunter2'));
  writeFileSync(at('null-header.safetensors'), safetensors(null));
  writeFileSync(at('negative-shape.safetensors'), safetensors({ 'head.fc.bias': { dtype: 'F32', shape: [-1], data_offsets: [4, 0] } }, 4));
  writeFileSync(at('overlap.safetensors'), safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12));
  execFileSync('mkfifo', [at('weights.fifo'), at('image-fifo.png'), at('labels.fifo')]);
  await sharp({ create: { width: 1, height: 6000, channels: 3, background: '#808080' } }).png().toFile(at('strip.png'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c02040' } }).png().toFile(at('ok.png'));
  writeFileSync(at('huge-header.png'), pngHeaderOnly(30000, 30000));
  writeFileSync(at('text.png'), 'SECRET_TOKEN=hunter2, not an image at all\n');
  const ok = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } }).jpeg().toBuffer();
  writeFileSync(at('truncated.jpg'), ok.subarray(0, Math.floor(ok.length / 2)));
  // A dataset with every kind of bad file next to good ones.
  for (const c of ['cat', 'dog']) {
    mkdirSync(at(`data/${c}`), { recursive: true });
    for (let i = 0; i < 3; i++) await sharp({ create: { width: 40, height: 40, channels: 3, background: c === 'cat' ? '#aa0000' : '#0000aa' } }).png().toFile(at(`data/${c}/${i}.png`));
  }
  await sharp({ create: { width: 1, height: 6000, channels: 3, background: '#808080' } }).png().toFile(at('data/cat/strip.png'));
  execFileSync('mkfifo', [at('data/cat/pipe.png')]);
  writeFileSync(at('data/dog/text.png'), 'SECRET_TOKEN=hunter2');
  writeFileSync(at('data/dog/empty.jpg'), '');
  writeFileSync(at('data/dog/huge.png'), pngHeaderOnly(30000, 30000));
}, 60_000);

const FEW_SECONDS = 3000;

async function failure(fn: () => unknown): Promise<{ message: string; ms: number }> {
  const start = Date.now();
  try {
    await fn();
  } catch (e) {
    return { message: (e as Error).message, ms: Date.now() - start };
  }
  throw new Error('expected an error');
}

// [case, what to run, expected one-line error]
const weightsCases: [string, string, RegExp][] = [
  ['a 90-byte file whose classifier bias is [10000000, 0]', 'huge-head.safetensors', /huge-head\.safetensors: the classifier bias head\.fc\.bias is not one-dimensional/],
  ['a classifier of 200,000 classes', 'many-classes.safetensors', /declares more than the 100000 classes a model may have/],
  ['/dev/zero', '/dev/zero', /^\/dev\/zero: a device, not a regular file \(expected a safetensors file\)$/],
  ['a FIFO', 'weights.fifo', /weights\.fifo: a named pipe \(FIFO\), not a regular file/],
  ['/proc/self/status', '/proc/self/status', /a virtual file whose size is not known, not a regular file/],
  ['/proc/self/mem (an empty regular file whose first read fails with EIO)', '/proc/self/mem', /^\/proc\/self\/mem: a special file that cannot be read \(EIO\), not a regular file \(expected a safetensors file\)$/],
  ['a folder', dir, /a directory, not a regular file/],
  ['a missing file', 'nope.safetensors', /nope\.safetensors: no such file$/],
  ['a text file (e.g. /etc/shadow)', 'shadow-like', /shadow-like: not a safetensors file: the header length is larger than the file$/],
  ['a small length prefix then text', 'secret-prefix.safetensors', /not a safetensors file: the header is not valid UTF-8 JSON$/],
  ['a JSON null header', 'null-header.safetensors', /not a safetensors file: the header is not a JSON object$/],
  ['a negative dimension', 'negative-shape.safetensors', /tensor "head\.fc\.bias" has a shape dimension that is not a non-negative integer/],
  ['overlapping tensors', 'overlap.safetensors', /tensors "a" and "b" have overlapping data/],
];

const imageCases: [string, string, RegExp][] = [
  ['a 1 × 6000 PNG', 'strip.png', /cannot read image .*strip\.png: too elongated: 1 × 6000 pixels has an aspect ratio above 20:1/],
  ['a PNG header claiming 30000 × 30000', 'huge-header.png', /huge-header\.png: too large: 30000 × 30000 pixels is more than the 100 megapixels allowed/],
  ['a FIFO named like an image', 'image-fifo.png', /image-fifo\.png: a named pipe \(FIFO\), not a regular file \(expected an image\)/],
  ['/dev/zero as an image', '/dev/zero', /\/dev\/zero: a device, not a regular file/],
  ['a missing image', 'never-existed.png', /never-existed\.png: no such file$/],
  ['text named .png', 'text.png', /text\.png: not an image in a supported format/],
  ['a truncated JPEG', 'truncated.jpg', /truncated\.jpg: truncated or corrupt/],
];

describe('malformed files: one clear error, quickly, quoting nothing', () => {
  it.each(weightsCases)('weights: %s', async (_, file, message) => {
    const path = file.startsWith('/') ? file : at(file);
    const r = await failure(() => modelFromWeights('mobilevit_xxs', path));
    expect(r.message).toMatch(message);
    expect(r.message.split('\n')).toHaveLength(1);
    expect(r.message).not.toMatch(/SECRET|hunter2|root:|daemon|Unexpected token|\d{10,}/);
    expect(r.ms).toBeLessThan(FEW_SECONDS);
  });

  it.each(imageCases)('image: %s', async (_, file, message) => {
    const path = file.startsWith('/') ? file : at(file);
    const r = await failure(() => decodeForEval(path, 256));
    expect(r.message).toMatch(message);
    expect(r.message.split('\n')).toHaveLength(1);
    expect(r.message).not.toMatch(/SECRET|hunter2|disappeared/);
    expect(r.ms).toBeLessThan(FEW_SECONDS);
  });

  it('a dataset lists every bad file with its reason and keeps the good ones', async () => {
    const start = Date.now();
    const scan = await scanDataset(at('data'));
    expect(Date.now() - start).toBeLessThan(10_000);
    const reasons = Object.fromEntries(scan.skipped.map((s) => [s.path.split('/').slice(-2).join('/'), s.reason]));
    expect(reasons['cat/strip.png']).toMatch(/too elongated/);
    expect(reasons['dog/huge.png']).toMatch(/too large: 30000 × 30000 pixels/);
    expect(reasons['dog/text.png']).toMatch(/not an image in a supported format/);
    expect(reasons['dog/empty.jpg']).toMatch(/empty file/);
    // The FIFO is either skipped with a reason or not taken for an image; never waited on.
    if (reasons['cat/pipe.png'] !== undefined) expect(reasons['cat/pipe.png']).toMatch(/named pipe|empty file|not a regular file/);
    expect(JSON.stringify(scan.skipped)).not.toMatch(/SECRET|hunter2/);
    expect(scan.train.length + scan.val.length).toBe(6);
  });

  it('a class count that differs from the file\'s classifier fails before a model of that size is built', async () => {
    const r = await failure(() => modelFromWeights('mobilevit_xxs', W10, 100_000));
    expect(r.message).toMatch(/mobilevit_xxs_256_b2_c10\.weights\.safetensors does not fit: its classifier has 10 classes, not 100000$/);
    expect(r.ms).toBeLessThan(FEW_SECONDS);
  });

  it('labels are capped and checked against the class count before a model is built', () => {
    const many = Array.from({ length: 300_000 }, () => '');
    expect(() => parseParams('inspect.predict', { model: { variant: 'mobilevit_xxs', labels: many }, image: { path: '/x.png' } }))
      .toThrow(/model.*labels: more than 100,000 labels/);
    expect(ModelRef.safeParse({ variant: 'mobilevit_xxs', labels: ['a', 'b'] }).success).toBe(true);
    expect(ModelRef.safeParse({ variant: 'mobilevit_xxs', labels: ['x'.repeat(201)] }).success).toBe(false);
  });
});

// The cases that used to take gigabytes: the real CLI in a child process, its peak RSS read by /usr/bin/time.
const CLI_RSS_LIMIT_KB = 600 * 1024;
async function cli(...args: string[]): Promise<{ code: number; stderr: string; maxRssKb: number; ms: number }> {
  const start = Date.now();
  const argv = ['-f', 'MAXRSS_KB=%M', 'node', 'bin/mobilevit-studio.mjs', ...args];
  const env = { ...process.env, MOBILEVIT_BACKEND: 'wasm' };
  let code = 0;
  let stderr = '';
  try {
    ({ stderr } = await promisify(execFile)('/usr/bin/time', argv, { env, timeout: 60_000 }));
  } catch (e) {
    const err = e as { code: number; stderr: string };
    code = err.code;
    stderr = err.stderr;
  }
  const m = /MAXRSS_KB=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no RSS in: ${stderr}`);
  const lines = stderr.split('\n').filter((l) => l && !l.startsWith('backend:') && !l.startsWith('MAXRSS_KB=') && !l.startsWith('Command exited'));
  return { code, stderr: lines.join('\n'), maxRssKb: Number(m[1]), ms: Date.now() - start };
}

const cliCases: [string, () => string[], RegExp][] = [
  ['predict with the 90-byte [10000000, 0] classifier', () => ['predict', '--variant', 'xxs', '--weights', at('huge-head.safetensors'), '--image', at('ok.png')], /not one-dimensional/],
  ['predict with weights /dev/zero', () => ['predict', '--variant', 'xxs', '--weights', '/dev/zero', '--image', at('ok.png')], /\/dev\/zero: a device, not a regular file/],
  ['predict on a 1 × 6000 PNG', () => ['predict', '--variant', 'xxs', '--weights', W10, '--image', at('strip.png')], /too elongated/],
  ['predict on a FIFO', () => ['predict', '--variant', 'xxs', '--weights', W10, '--image', at('image-fifo.png')], /named pipe/],
  ['predict with a FIFO for labels', () => ['predict', '--variant', 'xxs', '--weights', W10, '--image', at('ok.png'), '--labels', at('labels.fifo')], /labels\.fifo: a named pipe/],
  ['forward with input /dev/zero', () => ['forward', '--variant', 'xxs', '--weights', W10, '--input', '/dev/zero', '--output', at('o.safetensors')], /\/dev\/zero: a device/],
  ['--variant constructor', () => ['predict', '--variant', 'constructor', '--weights', W10, '--image', at('ok.png')], /: unknown --variant "constructor" \(expected one of .*deeplabv3_mobilevit_xxs/],
  ['a flag named like an Object member', () => ['predict', '--constructor', 'x'], /: unknown flag --constructor$/],
];

describe('malformed files through the CLI: bounded time and memory', () => {
  it.each(cliCases)('%s', async (_, args, message) => {
    const r = await cli(...args());
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.maxRssKb).toBeLessThan(CLI_RSS_LIMIT_KB);
    expect(r.ms).toBeLessThan(30_000);
  }, 60_000);
});

afterAll(() => {
  execFileSync('rm', ['-rf', dir]);
});
