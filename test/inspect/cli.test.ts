// The three inspection commands end to end through the CLI entry point: JSON shapes from the issue,
// files written with --out, a training run as the model, and one clear line + non-zero exit on bad input.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/model/index.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore } from '../../src/run/index.ts';
import { createRun, updateRun } from '../../src/run/index.ts';
import { encode } from '../helpers/dataset.ts';
import { fixture } from '../helpers/fixtures.ts';
import { runCli } from '../helpers/cli.ts';

const WEIGHTS = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');
let dir: string;
let image: string;

const cli = runCli;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inspect-cli-'));
  // A 96×80 picture: a red disc on a gradient, so the eval crop and the overlay have something to show.
  const rgb = new Uint8Array(96 * 80 * 3);
  for (let y = 0; y < 80; y++) for (let x = 0; x < 96; x++) {
    const disc = (x - 60) ** 2 + (y - 40) ** 2 < 20 ** 2;
    rgb.set(disc ? [230, 60, 50] : [40 + x, 100, 180 - y], (y * 96 + x) * 3);
  }
  image = join(dir, 'picture.png');
  await sharp(await encode(rgb, 96, 80, 'png')).toFile(image);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attention', () => {
  const base = ['attention', '--variant', 'mobilevit_xxs', '--weights', WEIGHTS, '--image', '', '--image-size', '64', '--backend', 'wasm'];
  const args = (...more: string[]) => [...base.map((a) => (a === '' ? image : a)), ...more];

  it('prints the issue\'s JSON: block, layer, head, grid and a map that sums to 1', async () => {
    const r = await cli(...args('--block', '0', '--layer', '1', '--head', '2', '--patch', '3,1', '--pixel', '1,0', '--json'));
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ block: 0, layer: 1, head: 2, grid: [4, 4], patch: [3, 1], pixel: [1, 0], block_name: 'stages.2.1', image_size: [64, 64] });
    expect(j.map).toHaveLength(4);
    expect(j.map.flat().reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 6);
    expect(j.top5).toHaveLength(5);
  });

  it('rolls out over the layers and writes the overlay PNG and the JSON', async () => {
    const out = join(dir, 'att');
    const r = await cli(...args('--block', '1', '--rollout', '--patch', '1,0', '--out', out));
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toMatch(/rollout over all layers/);
    const meta = await sharp(join(out, 'attention.png')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    const j = JSON.parse(readFileSync(join(out, 'attention.json'), 'utf8'));
    expect(j).toMatchObject({ block: 1, layer: null, head: 'mean', pixel: 'mean', grid: [2, 2] });
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [args('--block', '0', '--layer', '0'), /--patch row,col is required/],
      [args('--block', '0', '--layer', '0', '--rollout', '--patch', '0,0'), /exactly one of --layer l and --rollout/],
      [args('--block', '3', '--layer', '0', '--patch', '0,0'), /block 3 is out of range: mobilevit_xxs has 3 MobileViT blocks/],
      [args('--block', '0', '--layer', '2', '--patch', '0,0'), /layer 2 is out of range: block 0 \(stages\.2\.1\) has 2 layers/],
      [args('--block', '0', '--layer', '0', '--patch', '4,0'), /patch 4,0 is outside the 4×4 patch grid/],
      [args('--block', '0', '--layer', '0', '--patch', 'a,b'), /--patch must be two non-negative integers "row,col", got "a,b"/],
      [args('--block', '0', '--layer', '0', '--patch', '0,0', '--head', 'all'), /--head must be a non-negative integer or "mean", got "all"/],
      [args('--block', '0', '--layer', '0', '--patch', '0,0', '--pixel', '2,0'), /pixel 2,0 is outside the 2×2 patch/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.at(-1)).toMatch(message);
      expect(r.err.at(-1)).not.toMatch(/\n/);
    }
    const missing = await cli(...args('--block', '0', '--layer', '0', '--patch', '0,0').map((a) => (a === image ? join(dir, 'nope.png') : a)));
    expect(missing.code).toBe(1);
    expect(missing.err.at(-1)).toMatch(/nope\.png/);
    const noWeights = await cli('attention', '--variant', 'mobilevit_xxs', '--image', image, '--block', '0', '--layer', '0', '--patch', '0,0');
    expect(noWeights.code).toBe(2);
    expect(noWeights.err.at(-1)).toMatch(/give --weights FILE or --run DIR/);
  });

  it('reads a training run: its classes label the prediction', async () => {
    const { dir: runDir } = createRun({ data: dir, variant: 'mobilevit_xxs', imageSize: 64 }, { runDir: join(dir, 'run-1') });
    const model = createModel('mobilevit_xxs', { numClasses: 3, seed: 2 });
    new CheckpointStore(join(runDir, 'checkpoints')).save('last', 10, stateDict(model), null, {});
    model.dispose();
    updateRun(runDir, { classes: ['cat', 'dog', 'fox'], status: 'stopped' });
    const r = await cli('attention', '--run', runDir, '--image', image, '--block', '2', '--layer', '0', '--patch', '0,0', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.image_size).toEqual([64, 64]); // the run's training size
    expect(j.top5.map((p: { label: string }) => p.label).sort()).toEqual(['cat', 'dog', 'fox']);
    const wrong = await cli('attention', '--run', join(dir, 'att'), '--image', image, '--block', '0', '--layer', '0', '--patch', '0,0');
    expect(wrong.code).toBe(1);
    expect(wrong.err.at(-1)).toMatch(/is not a run folder/);
  });
});

describe('receptive-field', () => {
  it('lists blocks in network order with coverage and support, and writes heatmaps', async () => {
    const out = join(dir, 'rf');
    const r = await cli('receptive-field', '--variant', 'mobilevit_xxs', '--size', '64', '--block', '6', '--out', out, '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.blocks).toHaveLength(1);
    expect(j.blocks[0]).toMatchObject({ index: 6, name: 'stages.2.1', kind: 'mobilevit', location: [4, 4], feature_size: [8, 8] });
    expect(j.blocks[0].support).toBeGreaterThan(0.9);
    expect(existsSync(join(out, 'field-06-stages.2.1.png'))).toBe(true);
    expect(existsSync(join(out, 'receptive-field.json'))).toBe(true);
  });

  it('measures on an image and at a chosen location', async () => {
    const r = await cli('receptive-field', '--variant', 'mobilevit_xxs', '--image', image, '--size', '64', '--block', '0', '--location', '1,2', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out).blocks[0]).toMatchObject({ name: 'stem', location: [1, 2], feature_size: [32, 32] });
  });

  it('refuses bad input with one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--block', '12'], /--block 12 has no spatial output/],
      [['--location', '1,1'], /--location needs --block/],
      [['--block', '0', '--location', '40,0'], /location 40,0 is outside the 32×32 feature map of block 0 \(stem\)/],
      [['--size', '16'], /--size must be between 32 and 1024 px, got 16/],
    ];
    for (const [more, message] of cases) {
      const r = await cli('receptive-field', '--variant', 'mobilevit_xxs', '--size', '64', ...more);
      expect(r.code, more.join(' ')).toBe(2);
      expect(r.err.at(-1)).toMatch(message);
    }
    const r = await cli('receptive-field', '--size', '64');
    expect([r.code, r.err.at(-1)]).toEqual([2, expect.stringMatching(/--variant is required/)]);
  });
});

describe('profile', () => {
  it('prints total_ms and every block with params, macs and the MobileViT parts', async () => {
    const before = tf.memory().numTensors;
    const r = await cli('profile', '--variant', 'mobilevit_xxs', '--image-size', '64', '--runs', '1', '--warmup', '0', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ variant: 'mobilevit_xxs', backend: 'wasm', image_size: 64, batch: 1, runs: 1 });
    expect(j.total_ms).toBeGreaterThan(0);
    const vit = j.blocks.find((b: { name: string }) => b.name === 'stages.3.1');
    expect(vit.parts.map((p: { name: string }) => p.name)).toEqual(['local', 'unfold', 'transformer', 'fold', 'projection', 'fusion']);
    expect(vit.params).toBeGreaterThan(0);
    expect(vit.macs).toBeGreaterThan(0);
  });

  it('times with the process CPU clock on request (single-threaded wasm), and refuses an unknown clock', async () => {
    const r = await cli('profile', '--variant', 'mobilevit_xxs', '--image-size', '32', '--runs', '1', '--warmup', '0', '--clock', 'cpu', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ backend: 'wasm', device: 'wasm in this process' });
    expect(j.total_ms).toBeGreaterThan(0);
    expect(j.syncs_per_pass).toBe(53);
    const bad = await cli('profile', '--variant', 'mobilevit_xxs', '--clock', 'gpu', '--backend', 'wasm');
    expect([bad.code, bad.err.at(-1)]).toEqual([2, expect.stringMatching(/--clock must be wall or cpu, got "gpu"/)]);
  });

  it('prints a table with both totals, and refuses bad flags', async () => {
    const r = await cli('profile', '--variant', 'mobilenet_v2', '--image-size', '32', '--runs', '1', '--warmup', '0', '--backend', 'wasm');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/conv_stem/);
    expect(r.out).toMatch(/sum of blocks [\d.]+ ms; end-to-end [\d.]+ ms/);
    const bad = await cli('profile', '--variant', 'mobilevit_xxs', '--runs', '0');
    expect([bad.code, bad.err.at(-1)]).toEqual([2, expect.stringMatching(/--runs must be a positive integer/)]);
    const unknown = await cli('profile', '--variant', 'mobilevit_xxl');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err.at(-1)).toMatch(/unknown --variant "mobilevit_xxl" \(expected one of mobilevit_xxs, .*ssdlite_mobilevit_s\)/);
  });
});
