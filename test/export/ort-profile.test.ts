// onnxruntime's per-node profile mapped back onto the studio's blocks: the mapping on a synthetic trace,
// a real profile of XXS, and `profile --runtime onnxruntime` beside TF.js.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { aggregateTrace, partOf, profileOnnx } from '../../src/export/ort-profile.ts';
import { createModel } from '../../src/model/index.ts';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

const ev = (name: string, ts: number, dur: number) => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur });

describe('aggregateTrace', () => {
  it('charges nodes to blocks by name, layout reorders to the block before, and splits MobileViT parts and layers', () => {
    const blocks = [{ name: 'stem', kind: 'stem', params: 1 }, { name: 'stages.2.1', kind: 'mobilevit', params: 2 }, { name: 'head', kind: 'head', params: 3 }];
    const run = (t0: number, k: number) => [
      { cat: 'Session', name: 'model_run', ts: t0, dur: 100_000 },
      ev('stem/Conv:out_nchwc', t0 + 1, 1000 * k),
      ev('ReorderOutput_token_1', t0 + 2, 500),
      ev('stages.2.1/conv_kxk/Conv', t0 + 3, 2000),
      ev('stages.2.1/unfold/Transpose', t0 + 4, 300),
      ev('stages.2.1/transformer.0/attn/Softmax', t0 + 5, 4000),
      ev('stages.2.1/transformer.1/mlp/fc1/MatMul', t0 + 6, 3000),
      ev('stages.2.1/norm/LayerNormalization', t0 + 7, 100),
      ev('stages.2.1/fold/Reshape', t0 + 8, 200),
      ev('stages.2.1/conv_proj/Conv', t0 + 9, 700),
      ev('stages.2.1/concat/Concat', t0 + 10, 50),
      ev('stages.2.1/conv_fusion/Conv', t0 + 11, 950),
      ev('head/Gemm', t0 + 12, 10),
    ];
    // A warm-up run (ignored: only the last `runs` count) and two measured ones.
    const events = [...run(0, 50), ...run(200_000, 1), ...run(400_000, 3)];
    const { totalMs, blocks: t } = aggregateTrace(events, blocks, 2);
    expect(totalMs).toBe(100);
    expect(t[0].ms).toBeCloseTo((1 + 3) / 2 + 0.5, 9); // median of 1.5 and 3.5 ms
    expect(t[1].ms).toBeCloseTo(11.3, 9);
    expect(Object.fromEntries(t[1].parts.map((p) => [p.name, p.ms]))).toEqual({ local: 2, unfold: 0.3, transformer: 7.1, fold: 0.2, projection: 0.7, fusion: 1 });
    expect(t[1].parts.find((p) => p.name === 'transformer')!.layers).toEqual([4, 3]);
    expect(t[2]).toMatchObject({ ms: 0.01, parts: [] });
    expect(() => aggregateTrace(events, blocks, 4)).toThrow(/3 runs, expected 4/);
  });

  it('knows the parts of a MobileViT block', () => {
    expect(['conv_kxk', 'conv_1x1', 'unfold', 'transformer.3', 'norm', 'fold', 'conv_proj', 'concat', 'conv_fusion', 'conv1_1x1'].map(partOf))
      .toEqual(['local', 'local', 'unfold', 'transformer', 'transformer', 'fold', 'projection', 'fusion', 'fusion', null]);
  });
});

describe('profileOnnx', () => {
  it('times every block of XXS on onnxruntime, its parts adding up to the block', async () => {
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    const p = await profileOnnx(model, { imageSize: 64, runs: 2, warmup: 1, threads: 1 });
    expect(p.blocks.map((b) => b.name)).toEqual(model.blocks().map((b) => b.name));
    model.dispose();
    for (const b of p.blocks) expect(b.ms, b.name).toBeGreaterThan(0);
    for (const b of p.blocks.filter((x) => x.kind === 'mobilevit')) {
      const parts = b.parts.reduce((s, x) => s + x.ms, 0);
      expect(parts).toBeLessThanOrEqual(b.ms + 1e-6);
      expect(parts).toBeGreaterThan(0.5 * b.ms); // layout reorders are the rest
    }
    expect(p.blocks.find((b) => b.name === 'stages.3.1')!.parts.find((x) => x.name === 'transformer')!.layers).toHaveLength(4);
    expect(p.totalMs).toBeGreaterThanOrEqual(p.blocksMs * 0.5);
  }, 60_000);
});

describe('profile --runtime onnxruntime', () => {
  it('prints both runtimes per block for several variants, with MACs', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['profile', '--runtime', 'onnxruntime', '--variant', 'xxs,mobilenet_v2', '--image-size', '64', '--runs', '1', '--warmup', '0', '--threads', '1', '--backend', 'wasm', '--json'],
      { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code, err.join('\n')).toBe(0);
    const j = JSON.parse(out.join('\n'));
    expect(j.variants.map((v: { variant: string }) => v.variant)).toEqual(['mobilevit_xxs', 'mobilenet_v2']);
    const [xxs, mnv2] = j.variants;
    expect(xxs.macs).toBeGreaterThan(0);
    expect(mnv2.blocks[0]).toMatchObject({ name: 'conv_stem', kind: 'stem' });
    for (const v of j.variants) for (const b of v.blocks) {
      expect(b.tfjs_ms, b.name).toBeGreaterThan(0);
      expect(b.onnxruntime_ms, b.name).toBeGreaterThan(0);
    }
    expect(xxs.blocks.find((b: { kind: string }) => b.kind === 'mobilevit').parts.map((p: { name: string }) => p.name))
      .toEqual(['local', 'unfold', 'transformer', 'fold', 'projection', 'fusion']);
    const bad: string[] = [];
    expect(await main(['profile', '--runtime', 'tensorrt', '--variant', 'xxs'], { out: () => {}, err: (l) => bad.push(l) })).toBe(2);
    expect(bad.at(-1)).toMatch(/--runtime must be tfjs or onnxruntime/);
  }, 120_000);
});
