// The studio's own ONNX export, run in onnxruntime-node, gives the TF.js (wasm) logits within 1e-4: every
// variant at 256 px (1e-4 × max(1, max |logit|)) and at a size whose feature maps are not divisible by the patch (the Resize path),
// batch 2 through the dynamic batch dimension; plus the timm fixture, and the pre-17 LayerNorm decomposition.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-model.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { createModel, type VariantName } from '../../src/model/index.ts';
import { loadWeightsFile } from '../../src/model/weights-file.ts';
import { loadFixture, maxAbsDiff } from '../helpers/fixtures.ts';
import { onnxLogits, randomImages, randomModel, tfLogits } from './helpers.ts';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('ONNX export matches TF.js in onnxruntime', () => {
  const cases: [VariantName, number][] = [
    ['mobilevit_xxs', 256], ['mobilevit_xxs', 200],
    ['mobilevit_xs', 256], ['mobilevit_xs', 72],
    ['mobilevit_s', 256], ['mobilevit_s', 200],
    ['mobilenet_v2', 256], ['mobilenet_v2', 200],
  ];
  it.each(cases)('%s at %i px, batch 2', async (variant, size) => {
    const model = randomModel(variant, 10, 11);
    try {
      const x = randomImages(2, size, 5);
      const ref = tfLogits(model, x, 2, size);
      const got = await onnxLogits(exportOnnx(model, { imageSize: size }), x, 2, size);
      expect(got.length).toBe(20);
      // Logits of an informative size, so the tolerance means something; 1e-4 absolute, relative to the
      // largest logit where that exceeds 1 (MobileNetV2's random head gives logits around 20: float32 rounding).
      const scale = Math.max(...ref.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(got, ref)).toBeLessThan(TOL * Math.max(1, scale));
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('the timm fixture (XXS, 10 classes): onnxruntime gives timm\'s logits', async () => {
    const { weights, io } = loadFixture('mobilevit_xxs_256_b2_c10');
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    loadWeightsFile(model, weights);
    const input = io.get('input_nhwc')!;
    const got = await onnxLogits(exportOnnx(model, { imageSize: 256 }), input.data, 2, 256);
    expect(maxAbsDiff(got, io.get('logits')!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(got, tfLogits(model, input.data, 2, 256))).toBeLessThan(TOL);
    model.dispose();
  }, 60_000);

  it('opset 13 (LayerNorm decomposed) matches too, and uses no LayerNormalization node', async () => {
    const model = randomModel('mobilevit_xxs', 5, 3);
    const bytes = exportOnnx(model, { imageSize: 72, opset: 13 });
    const ops = new Set(decodeModel(bytes).graph!.node!.map((n) => n.opType));
    expect(ops.has('LayerNormalization')).toBe(false);
    expect(ops.has('ReduceMean')).toBe(true);
    const x = randomImages(1, 72, 9);
    expect(maxAbsDiff(await onnxLogits(bytes, x, 1, 72), tfLogits(model, x, 1, 72))).toBeLessThan(TOL);
    model.dispose();
  }, 60_000);
});

describe('the ONNX graph', () => {
  it('has the studio\'s ops, a dynamic batch, named blocks and the metadata a deployment needs', () => {
    const model = randomModel('mobilevit_xxs', 3, 1);
    const m = decodeModel(exportOnnx(model, { imageSize: 200, labels: ['cat', 'dog', 'fox'], preprocessing: { cropPct: 0.95, interpolation: 'bilinear' } }));
    model.dispose();
    const g = m.graph!;
    const nodes = g.node!;
    const ops = new Set(nodes.map((n) => n.opType));
    for (const op of ['Conv', 'LayerNormalization', 'MatMul', 'Softmax', 'Reshape', 'Transpose', 'Resize', 'Concat', 'Gemm']) expect(ops, op).toContain(op);
    expect(ops.has('BatchNormalization')).toBe(false); // folded into the convolutions
    expect(g.input![0].name).toBe('pixels');
    expect(g.input![0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 3, 200, 200]);
    expect(g.output![0].name).toBe('logits');
    for (const r of nodes.filter((n) => n.opType === 'Resize')) {
      const mode = Object.fromEntries(r.attribute!.map((a) => [a.name, new TextDecoder().decode(a.s ?? new Uint8Array())]));
      expect(mode).toMatchObject({ mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
    }
    expect(nodes.some((n) => n.name!.startsWith('stages.2.1/transformer.0/attn/'))).toBe(true);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.labels)).toEqual(['cat', 'dog', 'fox']);
    expect(JSON.parse(meta.input_size)).toEqual([3, 200, 200]);
    expect(JSON.parse(meta.preprocessing)).toMatchObject({ channel_order: 'RGB', layout: 'NCHW', crop: { crop_pct: 0.95 }, resize: { shorter_side: 210, interpolation: 'bilinear' } });
    expect(meta.variant).toBe('mobilevit_xxs');
  });

  it('refuses an opset without the ops it needs, and labels that do not fit', () => {
    const model = createModel('mobilenet_v2', { numClasses: 2 });
    expect(() => exportOnnx(model, { imageSize: 224, opset: 11 })).toThrow(/opset/);
    expect(() => exportOnnx(model, { imageSize: 224, labels: ['a'] })).toThrow(/labels/);
    model.dispose();
  });
});
