// Every inference path preprocesses an image one way (src/protocol/recipe.ts inferencePreprocessing): the run's
// recorded recipe when a run is named (its training size and evaluation crop), the zoo row's for a zoo model, the
// flags when they are given. `predict` on a run's validation image agrees with `eval` on it, whether the run is
// named by --run or --weights (issue 24 item 1: predict used 256 px and the 0.9 crop, eval the run's 32 px whole image).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { inferencePreprocessing, REFERENCE_PREPROCESSING } from '../../src/protocol/recipe.ts';
import { createModel } from '../../src/model/index.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { readRun } from '../../src/run/index.ts';
import { loadModel } from '../../src/run/model.ts';
import { ZOO } from '../../src/zoo/zoo.ts';
import { runCli as cli } from '../helpers/cli.ts';

const CLASSES = ['a', 'b', 'c'];
let dir: string;
let runDir: string;
let valImage: string;

/** A 44×36 picture whose border differs from its centre, so a crop changes what the model sees. */
async function picture(file: string, seed: number): Promise<void> {
  const w = 44, h = 36;
  const rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const edge = x < 5 || y < 5 || x >= w - 5 || y >= h - 5;
    rgb.set(edge ? [250, (seed * 70) % 256, 20] : [(x * 5 + seed * 40) % 256, (y * 6) % 256, 120], (y * w + x) * 3);
  }
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'one-preprocessing-'));
  const data = join(dir, 'data');
  for (const [i, c] of CLASSES.entries()) {
    mkdirSync(join(data, 'train', c), { recursive: true });
    await picture(join(data, 'train', c, 'one.png'), i);
    await picture(join(data, 'train', c, 'two.png'), i + 3);
  }
  // The validation set is one image, so eval's loss is −log p(its class) for that image alone.
  mkdirSync(join(data, 'val', 'b'), { recursive: true });
  valImage = join(data, 'val', 'b', 'val.png');
  await picture(valImage, 7);

  // One epoch at 32 px: 36-px images are framed at about the training size, so the recipe the run records
  // evaluates the whole image, not the reference 0.9 crop.
  runDir = join(dir, 'run');
  const trained = await cli('train', '--data', data, '--image-size', '32', '--epochs', '1', '--batch-size', '4', '--run-dir', runDir, '--json', '--backend', 'wasm');
  expect(trained.code, trained.err.join('\n')).toBe(0);
  expect(readRun(runDir).recipe?.settings).toMatchObject({ imageSize: 32, evalCrop: 1 });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('one preprocessing for every inference path', () => {
  it('predict --run and predict --weights <run> agree with eval on a validation image of the run', async () => {
    const evaluated = await cli('eval', '--run', runDir, '--json', '--backend', 'wasm');
    expect(evaluated.code, evaluated.err.join('\n')).toBe(0);
    const e = JSON.parse(evaluated.out) as { count: number; loss: number; imageSize: number; evalCrop: number };
    expect(e).toMatchObject({ count: 1, imageSize: 32, evalCrop: 1 });

    for (const by of ['--run', '--weights']) {
      const predicted = await cli('predict', by, runDir, '--image', valImage, '--top', '3', '--json', '--backend', 'wasm');
      expect(predicted.code, predicted.err.join('\n')).toBe(0);
      const p = JSON.parse(predicted.out) as { preprocessing: { imageSize: number; cropPct: number }; top: { label: string; probability: number }[] };
      expect(p.preprocessing).toMatchObject({ imageSize: 32, cropPct: 1 });
      const trueClass = p.top.find((t) => t.label === 'b')!;
      expect(-Math.log(trueClass.probability)).toBeCloseTo(e.loss, 4);
    }
    // What predict did before (256 px, the 0.9 crop) is another answer: the agreement above is not a coincidence.
    const before = await cli('predict', '--run', runDir, '--image', valImage, '--image-size', '256', '--eval-crop', '0.9', '--top', '3', '--json', '--backend', 'wasm');
    const old = (JSON.parse(before.out) as { top: { label: string; probability: number }[] }).top.find((t) => t.label === 'b')!;
    expect(Math.abs(-Math.log(old.probability) - e.loss)).toBeGreaterThan(1e-3);
  });

  it('flags given explicitly override the run\'s recipe', async () => {
    const r = await cli('predict', '--run', runDir, '--image', valImage, '--image-size', '64', '--eval-crop', '0.5', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out).preprocessing).toEqual({ imageSize: 64, cropPct: 0.5, interpolation: 'bicubic' });
    const bad = await cli('predict', '--run', runDir, '--image', valImage, '--interpolation', 'lanczos');
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual(['mobilevit-studio predict: --interpolation must be bicubic or bilinear, got "lanczos"']);
  });

  it('a zoo file preprocesses as its row says; explicit values win over recorded ones, recorded over the reference', () => {
    const row = ZOO.find((e) => e.variant === 'mobilenet_v2')!;
    const file = join(dir, 'zoo.safetensors');
    const model = createModel('mobilenet_v2', { numClasses: 4, seed: 0 });
    saveWeights(model, file, { source: `${row.repo}@${row.revision}/${row.file}` });
    model.dispose();
    const loaded = loadModel({ variant: 'mobilenet_v2', weights: file });
    loaded.model.dispose();
    expect(inferencePreprocessing(loaded)).toEqual({ imageSize: 224, cropPct: 0.875, interpolation: 'bicubic' });
    expect(inferencePreprocessing(loaded, { imageSize: 160 })).toEqual({ imageSize: 160, cropPct: 0.875, interpolation: 'bicubic' });
    const apple = ZOO.find((e) => e.source === 'apple')!;
    expect(inferencePreprocessing({ imageSize: apple.imageSize, evalCrop: apple.evalCrop, interpolation: apple.interpolation }))
      .toMatchObject({ imageSize: 256, interpolation: 'bilinear' });
    expect(inferencePreprocessing(null)).toEqual(REFERENCE_PREPROCESSING);
  });
});
