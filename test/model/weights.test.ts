// Weights in and out: exact round trip, readable key errors, fine-tuning heads, Hugging Face names.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/model/index.ts';
import { hfKeyToTimm } from '../../src/model/huggingface.ts';
import { readSafetensors, writeSafetensors, type TensorMap } from '../../src/model/safetensors.ts';
import { loadWeights, stateDict } from '../../src/model/weights.ts';
import { loadWeightsFile, saveWeights } from '../../src/model/weights-file.ts';
import { fixture, maxAbsDiff, huggingFaceFixture } from '../helpers/fixtures.ts';
import { readFileSync } from 'node:fs';

beforeAll(async () => { await tf.setBackend('cpu'); });
const tmp = () => mkdtempSync(join(tmpdir(), 'mvit-weights-'));
const XXS10 = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');

describe('weights', () => {
  it('state_dict equals the timm file tensor for tensor, and save → load is exact', () => {
    const ref = readSafetensors(XXS10).tensors;
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    loadWeightsFile(model, XXS10);
    const sd = stateDict(model);
    expect([...sd.keys()]).toEqual([...ref.keys()]);
    for (const [k, t] of sd) {
      expect(t.shape, k).toEqual(ref.get(k)!.shape);
      expect(maxAbsDiff(t.data, ref.get(k)!.data), k).toBe(0);
    }
    const path = join(tmp(), 'w.safetensors');
    saveWeights(model, path);
    const other = createModel('mobilevit_xxs', { numClasses: 10, seed: 7 });
    loadWeightsFile(other, path);
    for (const [k, t] of stateDict(other)) expect(maxAbsDiff(t.data, sd.get(k)!.data), k).toBe(0);
    model.dispose(); other.dispose();
  });

  it('names every missing, unexpected and mis-shaped key in one error, and assigns nothing', () => {
    const tensors: TensorMap = new Map(readSafetensors(XXS10).tensors);
    tensors.delete('stem.bn.weight');
    tensors.set('stages.9.0.extra.weight', { shape: [1], data: new Float32Array(1) });
    const w = tensors.get('stages.2.1.conv_1x1.weight')!;
    tensors.set('stages.2.1.conv_1x1.weight', { shape: [w.shape[0] / 2, w.shape[1] * 2, 1, 1], data: w.data });
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    const before = model.params.get('stem.conv.weight')!.variable.dataSync().slice();
    expect(() => loadWeights(model, tensors, { source: 'bad.safetensors' })).toThrow(
      /bad\.safetensors does not fit mobilevit_xxs .*1 missing: stem\.bn\.weight.*1 unexpected: stages\.9\.0\.extra\.weight.*1 mis-shaped: stages\.2\.1\.conv_1x1\.weight \(file \[32,96,1,1\] vs model \[64,48,1,1\]\)/);
    expect(maxAbsDiff(model.params.get('stem.conv.weight')!.variable.dataSync(), before)).toBe(0);
    model.dispose();
  });

  it('rejects weights of another variant with a readable error', () => {
    const model = createModel('mobilevit_xs', { numClasses: 10 });
    expect(() => loadWeightsFile(model, XXS10)).toThrow(/does not fit mobilevit_xs \(timm names\) — it looks like a mobilevit_xxs checkpoint: \d+ mis-shaped: stages\.0\.0\.conv1_1x1\.conv\.weight \(file \[32,16,1,1\] vs model \[64,16,1,1\]\)/);
    model.dispose();
  });

  it('keeps the backbone and re-initialises a classifier with another number of classes', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 3, seed: 3 });
    const report = loadWeightsFile(model, XXS10);
    expect(report.headReinitialized).toBe(true);
    expect(report.notes[0]).toMatch(/re-initialised for 3 classes .*has 10/);
    const ref = readSafetensors(XXS10).tensors;
    const sd = stateDict(model);
    expect(maxAbsDiff(sd.get('final_conv.conv.weight')!.data, ref.get('final_conv.conv.weight')!.data)).toBe(0);
    expect(sd.get('head.fc.weight')!.shape).toEqual([3, 320]);
    expect(() => loadWeightsFile(model, XXS10, { allowHeadMismatch: false })).toThrow(/classifier shape differs/);
    model.dispose();
  });

  it('reads Hugging Face apple/mobilevit names, with query/key/value merged into qkv', () => {
    // An HF-named file built from the fixture with the mapping table that ships beside it.
    const { hf, ref, renamed } = huggingFaceFixture();
    for (const [hfKey, timm] of renamed) expect(hfKeyToTimm(hfKey)).toBe(timm);
    const path = join(tmp(), 'hf.safetensors');
    writeSafetensors(path, hf);
    const model = createModel('mobilevit_xxs', { numClasses: 1000 });
    const report = loadWeightsFile(model, path);
    expect(report.format).toBe('huggingface');
    expect(report.notes.join(' ')).toMatch(/expect BGR input/);
    for (const [k, t] of stateDict(model)) expect(maxAbsDiff(t.data, ref.get(k)!.data), k).toBe(0);
    model.dispose();
  });

  it('reports a truncated or non-safetensors file by name', () => {
    const dir = tmp();
    const bad = join(dir, 'broken.safetensors');
    writeFileSync(bad, readFileSync(XXS10).subarray(0, 100_000));
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    expect(() => loadWeightsFile(model, bad)).toThrow(/broken\.safetensors: tensor ".*" .*file truncated/);
    writeFileSync(bad, 'hello');
    expect(() => loadWeightsFile(model, bad)).toThrow(/broken\.safetensors: not a safetensors file/);
    expect(() => loadWeightsFile(model, join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: no such file/);
    model.dispose();
  });
});
