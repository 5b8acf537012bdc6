// predict and eval with --runtime onnxruntime give what they give on TF.js; by default they take the runtime rule
// (train/feature-runtime.ts): a choice kept for this machine, else TF.js where measuring is off, and say which.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveWeights } from '../../src/model/weights-file.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { randomModel } from './helpers.ts';
import { runCli } from '../helpers/cli.ts';
import { RUNTIMES_FILE, runtimeKey } from '../../src/device/runtime-file.ts';

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
    expect(b.runtimeNote).toMatch(/^onnxruntime-node on \d+ threads? \(/); // ortWhere's wording, as eval says it
    expect(b.top.map((p: { index: number }) => p.index)).toEqual(a.top.map((p: { index: number }) => p.index));
    for (let i = 0; i < 3; i++) expect(Math.abs(a.top[i].probability - b.top[i].probability)).toBeLessThan(1e-5);
    const bad = await cli(...args, '--runtime', 'tensorrt');
    expect(bad.code).not.toBe(0);
    expect(bad.err.at(-1)).toMatch(/--runtime must be one of auto, tfjs, onnxruntime, got "tensorrt"/);
  }, 60_000);
});

describe('the runtime rule for eval and predict', () => {
  const withWorkspace = async <T>(dir: string, f: () => Promise<T>): Promise<T> => {
    const before = process.env.MOBILEVIT_WORKSPACE;
    process.env.MOBILEVIT_WORKSPACE = dir;
    try {
      return await f();
    } finally {
      if (before === undefined) delete process.env.MOBILEVIT_WORKSPACE;
      else process.env.MOBILEVIT_WORKSPACE = before;
    }
  };

  it('eval: TF.js where nothing is kept and measuring is off; onnxruntime where kept faster for this machine, with the same numbers', async () => {
    // Enough work for the rule to weigh the runtimes (MEASURE_WORTH_PIXELS: 66 images at 224 px); below it, TF.js unasked.
    const many = join(mkdtempSync(join(tmpdir(), 'runtime-rule-')), 'data');
    await makeDataset(many, { classes: 3, perClass: 1, size: 24, layout: 'split', valPerClass: 22 });
    const args = ['eval', '--weights', weights, '--variant', 'mobilevit_xxs', '--data', many, '--image-size', '224', '--batch-size', '33', '--backend', 'wasm', '--json'];
    const empty = mkdtempSync(join(tmpdir(), 'runtime-rule-'));
    const a = await withWorkspace(empty, () => cli(...args));
    expect(a.code, a.err.join('\n')).toBe(0);
    const ta = JSON.parse(a.out);
    expect(ta.runtime).toBe('tfjs');
    expect(ta.runtimeNote).toMatch(/^TF.js on wasm in this process \(runtimes not measured: MOBILEVIT_AUTO_MEASURE=off\)$/);
    expect(a.err).toContain(`logits on ${ta.runtimeNote}`);

    const kept = mkdtempSync(join(tmpdir(), 'runtime-rule-'));
    mkdirSync(kept, { recursive: true });
    const entry = { key: runtimeKey('mobilevit_xxs', 224, 'wasm'), runtime: 'onnxruntime', msPerImage: { tfjs: 40, onnxruntime: 9 }, reason: 'measured faster: 9.0 ms/image on onnxruntime, 40.0 on TF.js', measuredAt: 1 };
    writeFileSync(join(kept, RUNTIMES_FILE), JSON.stringify({ format: 1, entries: [entry] }));
    const b = await withWorkspace(kept, () => cli(...args));
    expect(b.code, b.err.join('\n')).toBe(0);
    const tb = JSON.parse(b.out);
    expect(tb.runtime).toBe('onnxruntime');
    expect(tb.runtimeNote).toMatch(/^onnxruntime-node on \d+ threads? \(measured faster: 9.0 ms\/image on onnxruntime, 40.0 on TF.js; kept for this machine in .*inference-runtimes.json\)$/);
    expect(Math.abs(ta.loss - tb.loss)).toBeLessThan(1e-4);
    expect(tb.top1).toBe(ta.top1);
    expect(tb.confusion).toEqual(ta.confusion);
    // --runtime wins over the kept choice.
    const c = await withWorkspace(kept, () => cli(...args, '--runtime', 'tfjs'));
    expect(JSON.parse(c.out).runtimeNote).toBe('TF.js on wasm in this process (asked for)');
  }, 180_000);

  it('predict: one image is too little work to leave TF.js by default, and says so', async () => {
    const cls = readdirSync(join(data, 'val'))[0];
    const image = join(data, 'val', cls, readdirSync(join(data, 'val', cls))[0]);
    const r = await cli('predict', '--weights', weights, '--variant', 'mobilevit_xxs', '--image', image, '--image-size', '64', '--backend', 'wasm', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const p = JSON.parse(r.out);
    expect(p.runtime).toBe('tfjs');
    expect(p.runtimeNote).toBe('TF.js on wasm in this process (too little work to measure the runtimes)');
  }, 60_000);
});
