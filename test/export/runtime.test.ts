// predict and eval with --runtime onnxruntime give what they give on TF.js.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveWeights } from '../../src/model/weights-file.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { randomModel } from './helpers.ts';
import { runCli } from '../helpers/cli.ts';

let data: string;
let weights: string;

const cli = runCli;

beforeAll(async () => {
  await tf.setBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'export-runtime-'));
  data = join(dir, 'data');
  await makeDataset(data, { classes: 3, perClass: 4, size: 40, layout: 'split', valPerClass: 3 });
  const model = randomModel('mobilevit_xxs', 3, 21);
  weights = join(dir, 'w.safetensors');
  saveWeights(model, weights);
  model.dispose();
});

describe('--runtime onnxruntime', () => {
  it('eval: the same loss, accuracy, confusion and mistakes as TF.js', async () => {
    const args = ['eval', '--weights', weights, '--variant', 'mobilevit_xxs', '--data', data, '--image-size', '72', '--batch-size', '4', '--backend', 'wasm', '--json'];
    const a = await cli(...args);
    const b = await cli(...args, '--runtime', 'onnxruntime');
    expect(a.code, a.err.join('\n')).toBe(0);
    expect(b.code, b.err.join('\n')).toBe(0);
    const [ta, tb] = [JSON.parse(a.out), JSON.parse(b.out)];
    expect(ta.count).toBe(9);
    expect(Math.abs(ta.loss - tb.loss)).toBeLessThan(1e-5);
    expect(tb.top1).toBe(ta.top1);
    expect(tb.confusion).toEqual(ta.confusion);
    expect(tb.misclassified.map((m: { file: string }) => m.file)).toEqual(ta.misclassified.map((m: { file: string }) => m.file));
    for (let i = 0; i < ta.misclassified.length; i++) expect(Math.abs(ta.misclassified[i].confidence - tb.misclassified[i].confidence)).toBeLessThan(1e-5);
  }, 120_000);

  it('predict: the same classes and probabilities as TF.js; an unknown runtime is refused', async () => {
    const cls = readdirSync(join(data, 'val'))[1];
    const image = join(data, 'val', cls, readdirSync(join(data, 'val', cls))[0]);
    const args = ['predict', '--weights', weights, '--variant', 'mobilevit_xxs', '--image', image, '--image-size', '64', '--top', '3', '--backend', 'wasm', '--json'];
    const a = JSON.parse((await cli(...args)).out);
    const r = await cli(...args, '--runtime', 'onnxruntime');
    expect(r.code, r.err.join('\n')).toBe(0);
    const b = JSON.parse(r.out);
    expect(b.runtime).toBe('onnxruntime');
    expect(b.top.map((p: { index: number }) => p.index)).toEqual(a.top.map((p: { index: number }) => p.index));
    for (let i = 0; i < 3; i++) expect(Math.abs(a.top[i].probability - b.top[i].probability)).toBeLessThan(1e-5);
    const bad = await cli(...args, '--runtime', 'tensorrt');
    expect(bad.code).not.toBe(0);
    expect(bad.err.at(-1)).toMatch(/--runtime must be one of tfjs, onnxruntime/);
  }, 60_000);
});
