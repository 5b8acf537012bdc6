// The registry names each dense family's ONNX builder (DenseFamily.onnx) and export resolves it from one table; a
// classifier's graph follows its layer table's family, as the network is built. The graph a network gets is its
// family's, whatever class the loaded object is, and a builder of another task refuses it in words.
import { afterAll, describe, expect, it } from 'vitest';
import { exportDenseOnnx } from '../../src/export/onnx-dense.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import type { DenseNetwork } from '../../src/model/dense-from-file.ts';
import { createModel } from '../../src/model/index.ts';
import type { Model } from '../../src/model/model.ts';
import { createNetwork } from '../../src/model/networks.ts';
import { FAMILIES } from '../../src/model/registry/families.ts';
import { decodeModel } from './onnx-model.ts';

const seg = createNetwork('deeplabv3_mobilevit_xxs', 3) as DenseNetwork;
afterAll(() => seg.dispose());

describe('ONNX builders named by the registry', () => {
  it('every dense family names one; no classifier family does', () => {
    expect(Object.fromEntries(FAMILIES.map((f) => [f.id, 'onnx' in f ? f.onnx : null]))).toEqual({
      mobilevit: null, mobilenet_v2: null, deeplabv3_mobilevit: 'deeplabv3', ssdlite_mobilevit: 'ssdlite',
    });
  });

  it.each([['mobilevit_xxs', 'stem/Conv', 'final_conv/Conv'], ['mobilenet_v2', 'conv_stem/Conv', 'conv_head/Conv']] as const)(
    "%s's graph is its layer table's family's", (variant, first, last) => {
      const model = createModel(variant, { numClasses: 3, seed: 1 });
      try {
        const nodes = decodeModel(exportOnnx(model, { imageSize: 32 })).graph!.node!.map((n) => n.name);
        expect(nodes[0]).toBe(first);
        expect(nodes).toContain(last);
        expect(nodes.at(-1)).toMatch(/^(head|classifier)\//);
      } finally {
        model.dispose();
      }
    });

  it("a segmenter gets its family's graph; the classifiers' builder and a detector's post-processing refuse it", () => {
    const meta = Object.fromEntries(decodeModel(exportDenseOnnx(seg, { size: [64, 64] })).metadataProps!.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ variant: 'deeplabv3_mobilevit_xxs', task: 'segmentation', output_stride: '16' });
    expect(() => exportOnnx(seg as unknown as Model, { imageSize: 64 })).toThrow(/deeplabv3_mobilevit_xxs is not a classifier/);
    expect(() => exportDenseOnnx(seg, { size: [64, 64], postprocess: { scoreThreshold: 0.5 } })).toThrow(/not a detection network/);
  });
});
