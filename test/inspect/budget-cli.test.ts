// The CLI's inspection commands plan with the same memory estimate as the engine's requests (src/device/heap.ts):
// a pass over the wasm heap's limit is refused before it computes, in one line naming the limit and what fits,
// instead of aborting the heap with "memory access out of bounds" after seconds of work.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, drawClassImage } from '../helpers/dataset.ts';
import { fixture } from '../helpers/fixtures.ts';
import { runCli } from '../helpers/cli.ts';

const WEIGHTS = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');
let dir: string;
let image: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'budget-cli-'));
  image = join(dir, 'probe.png');
  writeFileSync(image, await encode(drawClassImage(1, 3, 48, 7), 48, 48, 'png'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inspection commands over the wasm memory limit', () => {
  it('predict and attention at 1024 px are refused with the limit and the size that fits', async () => {
    const predict = await runCli('predict', '--variant', 'mobilevit_xxs', '--weights', WEIGHTS, '--image', image, '--image-size', '1024', '--backend', 'wasm');
    expect(predict.code).toBe(1);
    expect(predict.err.at(-1)).toMatch(/^mobilevit-studio predict: predict of mobilevit_xxs at 1024 px needs about \d+ MB, over the wasm backend's limit of \d+ MB .*: lower the image size to at most \d+ px/);
    const attention = await runCli('attention', '--variant', 'mobilevit_xxs', '--weights', WEIGHTS, '--image', image, '--image-size', '1024',
      '--block', '0', '--layer', '0', '--patch', '0,0', '--backend', 'wasm');
    expect(attention.code).toBe(1);
    expect(attention.err.at(-1)).toMatch(/^mobilevit-studio attention: attention of mobilevit_xxs at 1024 px needs about \d+ MB/);
  });

  it('profile names the batch that fits; a profile that fits runs', async () => {
    const big = await runCli('profile', '--variant', 'mobilevit_s', '--image-size', '512', '--batch', '64', '--runs', '1', '--warmup', '0', '--backend', 'wasm');
    expect(big.code).toBe(1);
    expect(big.err.at(-1)).toMatch(/profile of mobilevit_s at 512 px × batch 64 needs about \d+ MB.*lower the batch to at most \d+ or the image size to at most \d+ px/);
    const small = await runCli('profile', '--variant', 'mobilevit_xxs', '--image-size', '64', '--runs', '1', '--warmup', '0', '--json', '--backend', 'wasm');
    expect(small.code).toBe(0);
  });

  it('segmentation and detection networks are planned on their backbone and refused the same way', async () => {
    const field = await runCli('receptive-field', '--variant', 'deeplabv3_mobilevit_xxs', '--size', '1024', '--backend', 'wasm');
    expect(field.code).toBe(1);
    expect(field.err.at(-1)).toMatch(/^mobilevit-studio receptive-field: receptive-field of deeplabv3_mobilevit_xxs at 1024 px needs about \d+ MB, over the wasm backend's limit of \d+ MB .*: lower the image size to at most \d+ px/);
    const profile = await runCli('profile', '--variant', 'ssdlite_mobilevit_s', '--image-size', '512', '--batch', '64', '--runs', '1', '--warmup', '0', '--backend', 'wasm');
    expect(profile.code).toBe(1);
    expect(profile.err.at(-1)).toMatch(/profile of ssdlite_mobilevit_s at 512 px × batch 64 needs about \d+ MB.*lower the batch to at most \d+ or the image size to at most \d+ px/);
  });
});
