// The registry names each family's ONNX builder (Family.onnx) and export resolves it from one table per task:
// the graph a network gets is its family's, whatever class the loaded object is, and a builder of another task
// refuses it in words.
import { afterAll, describe, expect, it } from 'vitest';
import { exportDenseOnnx } from '../../src/export/onnx-dense.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import type { DenseNetwork } from '../../src/model/dense-from-file.ts';
import type { Model } from '../../src/model/model.ts';
import { createNetwork } from '../../src/model/networks.ts';
import { FAMILIES } from '../../src/model/registry/families.ts';
import { decodeModel } from './onnx-model.ts';

const seg = createNetwork('deeplabv3_mobilevit_xxs', 3) as DenseNetwork;
afterAll(() => seg.dispose());

describe('ONNX builders named by the registry', () => {
  it('every family names one, by its task', () => {
    expect(Object.fromEntries(FAMILIES.map((f) => [f.id, f.onnx]))).toEqual({
      mobilevit: 'mobilevit', mobilenet_v2: 'mobilenet_v2', deeplabv3_mobilevit: 'deeplabv3', ssdlite_mobilevit: 'ssdlite',
    });
  });

  it("a segmenter gets its family's graph; the classifiers' builder and a detector's post-processing refuse it", () => {
    const meta = Object.fromEntries(decodeModel(exportDenseOnnx(seg, { size: [64, 64] })).metadataProps!.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ variant: 'deeplabv3_mobilevit_xxs', task: 'segmentation', output_stride: '16' });
    expect(() => exportOnnx(seg as unknown as Model, { imageSize: 64 })).toThrow(/deeplabv3_mobilevit_xxs is not a classifier/);
    expect(() => exportDenseOnnx(seg, { size: [64, 64], postprocess: { scoreThreshold: 0.5 } })).toThrow(/not a detection network/);
  });
});
