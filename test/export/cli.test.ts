// `export`: ONNX and safetensors from a run or from weights, and a run's timm train.py recipe, through the CLI.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-model.ts';
import { STUDIO_WARMUP_START_LR, timmRecipe } from '../../src/export/timm-recipe.ts';
import { createModel } from '../../src/model/index.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { stateDict } from '../../src/model/weights.ts';
import { loadWeightsFile } from '../../src/model/weights-file.ts';
import { resolveRecipe } from '../../src/protocol/recipe.ts';
import { CheckpointStore, createRun, readRun, updateRun } from '../../src/run/index.ts';
import { parseSettings } from '../../src/run/record.ts';
import { WARMUP_START_LR } from '../../src/train/defaults.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';
import { onnxLogits, randomImages, randomModel, tfLogits } from './helpers.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let runDir: string;

const cli = runCli;

beforeAll(async () => {
  await tf.setBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'export-cli-'));
  ({ dir: runDir } = createRun({ data: join(dir, 'data'), variant: 'mobilevit_xs', imageSize: 72, epochs: 12, batchSize: 24, lr: 0.001, seed: 42,
    labelSmoothing: 0.05, weightDecay: 0.02, augmentation: { hflip: false, colorJitter: 0.3, cropScale: [0.3, 1] } }, { runDir: join(dir, 'run-1') }));
  const model = randomModel('mobilevit_xs', 3, 2);
  new CheckpointStore(join(runDir, 'checkpoints')).save('best', 10, stateDict(model), null, {});
  model.dispose();
  const settings = parseSettings(readRun(runDir).settings);
  updateRun(runDir, { classes: ['cat', 'dog', 'fox'], status: 'finished',
    recipe: resolveRecipe(settings, { shortSide: 300, trainImages: 600, classes: 3 }) });
});

describe('export --format onnx', () => {
  it('exports a run\'s best checkpoint at its image size, with its classes, and onnxruntime gives its logits', async () => {
    const out = join(dir, 'run.onnx');
    const r = await cli('export', '--format', 'onnx', '--run', runDir, '--out', out, '--backend', 'wasm', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ format: 'onnx', files: [{ path: out }] });
    const bytes = new Uint8Array(readFileSync(out));
    const meta = Object.fromEntries(decodeModel(bytes).metadataProps!.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.labels!)).toEqual(['cat', 'dog', 'fox']);
    expect(JSON.parse(meta.input_size!)).toEqual([3, 72, 72]);
    expect(JSON.parse(meta.preprocessing!).crop.crop_pct).toBe(0.9); // the run's resolved evaluation crop
    expect(meta.run_id).toBe(readRun(runDir).id);
    // The checkpoint's weights in TF.js against the file in onnxruntime.
    const model = createModel('mobilevit_xs', { numClasses: 3 });
    loadWeightsFile(model, new CheckpointStore(join(runDir, 'checkpoints')).weightsPath('best')!);
    const x = randomImages(2, 72, 4);
    expect(maxAbsDiff(await onnxLogits(bytes, x, 2, 72), tfLogits(model, x, 2, 72))).toBeLessThan(1e-4);
    model.dispose();
  }, 60_000);

  it('exports weights at a chosen size and opset; refuses bad flags', async () => {
    const out = join(dir, 'w.onnx');
    const r = await cli('export', '--format', 'onnx', '--variant', 'xxs', '--weights', fixture('mobilevit_xxs_256_b2_c10.weights.safetensors'),
      '--out', out, '--image-size', '96', '--opset', '18', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toMatch(/wrote .*w\.onnx/);
    const m = decodeModel(new Uint8Array(readFileSync(out)));
    expect(Number(m.opsetImport![0].version)).toBe(18);
    expect(Number(m.graph!.input![0].type!.tensorType!.shape!.dim![2].dimValue)).toBe(96);
    expect((await cli('export', '--format', 'tflite', '--run', runDir, '--out', out)).err.at(-1)).toMatch(/--format must be one of onnx, safetensors, timm-recipe/);
    expect((await cli('export', '--format', 'onnx', '--weights', 'x.safetensors', '--out', out)).err.at(-1)).toMatch(/--weights needs --variant/);
    expect((await cli('export', '--format', 'onnx', '--run', runDir, '--out', out, '--opset', '12', '--backend', 'wasm')).err.at(-1)).toMatch(/opset must be an integer from 13 to 21/);
  }, 60_000);
});

describe('export --format safetensors', () => {
  it('writes timm keys in PyTorch layout that load back to the same weights', async () => {
    const out = join(dir, 'run.safetensors');
    const r = await cli('export', '--format', 'safetensors', '--run', runDir, '--checkpoint', 'best', '--out', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const { tensors, metadata } = readSafetensors(out);
    expect(tensors.get('stages.2.1.transformer.0.attn.qkv.weight')!.shape).toEqual([288, 96]); // [out, in]
    expect(JSON.parse(metadata.labels!)).toEqual(['cat', 'dog', 'fox']);
    const ckpt = readSafetensors(new CheckpointStore(join(runDir, 'checkpoints')).weightsPath('best')!).tensors;
    for (const [key, t] of ckpt) expect(maxAbsDiff(tensors.get(key)!.data, t.data), key).toBe(0);
  }, 60_000);
});

describe('export --format timm-recipe', () => {
  it('writes the run\'s exact recipe as train.py args and a command line', async () => {
    const out = join(dir, 'recipe.yaml');
    const r = await cli('export', '--format', 'timm-recipe', '--run', runDir, '--out', out);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toContain(`run it: python train.py -c ${out}`);
    const yaml = readFileSync(out, 'utf8');
    const args = Object.fromEntries(yaml.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
      const i = l.indexOf(': ');
      return [l.slice(0, i), JSON.parse(l.slice(i + 2))];
    }));
    const run = readRun(runDir);
    expect(args).toMatchObject({
      data_dir: join(dir, 'data'), train_split: 'train', val_split: 'val', model: 'mobilevit_xs', num_classes: 3,
      img_size: 72, batch_size: 24, epochs: 12, opt: 'adamw', lr: 0.001, weight_decay: 0.02, sched: 'cosine', sched_on_updates: true,
      warmup_epochs: run.recipe!.settings.warmupEpochs, warmup_lr: 1e-6, min_lr: 0.001 * run.recipe!.settings.minLrRatio,
      smoothing: 0.05, seed: 42, scale: [0.3, 1], hflip: 0, color_jitter: 0.3, crop_pct: 0.9,
      mean: [0, 0, 0], std: [1, 1, 1], drop: 0.1, clip_grad: 10, clip_mode: 'norm', experiment: run.id,
    });
    expect(args.pretrained).toBeUndefined();
    expect(readFileSync(join(dir, 'recipe.sh'), 'utf8')).toContain('python train.py -c');
    expect(yaml).toContain('torchrun --nproc_per_node=N train.py');
  });

  it('starts from the run\'s weights through timm\'s pretrained path, maps MobileNetV2, and says what timm cannot do', () => {
    const run = readRun(runDir);
    const mnv2 = { ...run, settings: { ...run.settings, variant: 'mobilenet_v2' as const, weights: '/w/mnv2.safetensors', multiScale: true }, recipe: undefined,
      dataset: { layout: 'flat' } as never };
    const r = timmRecipe(mnv2, { runDir, argsFile: 'a b.yaml' });
    expect(r.args).toMatchObject({ model: 'mobilenetv2_100', pretrained: true, pretrained_path: '/w/mnv2.safetensors', drop: 0.2, mean: [0, 0, 0] });
    expect(r.command).toBe("python train.py -c 'a b.yaml'");
    expect(r.notes.join('\n')).toMatch(/multi-scale/);
    expect(r.notes.join('\n')).toMatch(/train\/<class>/);
    expect(r.notes.join('\n')).toMatch(/reference recipe/);
    expect(STUDIO_WARMUP_START_LR).toBe(WARMUP_START_LR);
  });
});

describe('export --out', () => {
  it('refuses a folder in words before writing anything, and leaves no temp file in it', async () => {
    const folder = join(dir, 'exports-folder');
    mkdirSync(folder);
    for (const format of ['onnx', 'safetensors', 'timm-recipe']) {
      const r = await cli('export', '--format', format, '--run', runDir, '--out', folder, '--backend', 'wasm');
      expect(r.code, format).not.toBe(0);
      expect(r.err.at(-1)).toMatch(new RegExp(`--out ${folder} is a folder: give the file to write, such as ${folder}/(model\\.onnx|model\\.safetensors|args\\.yaml)`));
    }
    expect(readdirSync(folder)).toEqual([]);
    // A path that ends in a separator names a folder too, whether or not it exists.
    const missing = join(dir, 'not-yet') + '/';
    expect((await cli('export', '--format', 'timm-recipe', '--run', runDir, '--out', missing)).err.at(-1)).toBe(`mobilevit-studio export: --out ${missing} is a folder: give the file to write, such as ${join(missing, 'args.yaml')}`);
    expect(existsSync(missing)).toBe(false);
  }, 60_000);

  it('creates the folders of --out that do not exist yet', async () => {
    const out = join(dir, 'new', 'deeper', 'run.safetensors');
    const r = await cli('export', '--format', 'safetensors', '--run', runDir, '--out', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(readSafetensors(out).tensors.size).toBeGreaterThan(0);
    const recipe = join(dir, 'new-recipes', 'r.yaml');
    expect((await cli('export', '--format', 'timm-recipe', '--run', runDir, '--out', recipe)).code).toBe(0);
    expect(existsSync(join(dir, 'new-recipes', 'r.sh'))).toBe(true);
    expect(readdirSync(join(dir, 'new', 'deeper'))).toEqual(['run.safetensors']);
  }, 60_000);
});
