// The ONNX export of the dense networks, run in onnxruntime-node, against the studio's own TF.js (wasm) outputs:
// DeepLabv3-MobileViT XXS logits and SSDLite-MobileViT XXS box deltas and class logits within 1e-4 × max(1, |ref|),
// the anchors equal, at a square size and a non-square one whose maps are not a multiple of the patch (the Resize
// path), batch 2 through the dynamic batch dimension; and with the post-processing in the graph, the detections of
// every image equal to detection-postprocess.ts's (count, labels, order), boxes and scores within 1e-4.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-model.ts';
import { exportDetectionOnnx, exportSegmentationOnnx } from '../../src/export/onnx-dense.ts';
import { postprocess, SSD_POSTPROCESS } from '../../src/model/detection-postprocess.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { ortOutputs, randomizeVectors, toNhwc } from './helpers.ts';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

function randomImages(b: number, [h, w]: [number, number], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([b, h, w, 3], 0, 1, 'float32', seed).dataSync() as Float32Array).slice();
}

/** The detector's TF.js outputs for a batch of two NHWC images. */
function studioOutputs(model: DetectionModel, x: Float32Array, size: [number, number]) {
  const xt = tf.tensor4d(x, [2, ...size, 3]);
  const out = model.forward(xt);
  const outputs = { deltas: out.boxDeltas.dataSync().slice() as Float32Array, logits: out.classLogits.dataSync().slice() as Float32Array, anchors: out.anchors };
  tf.dispose([xt, out.boxDeltas, out.classLogits]);
  return outputs;
}

const within = (got: ArrayLike<number>, ref: Float32Array) => {
  const scale = Math.max(...ref.map(Math.abs));
  expect(scale).toBeGreaterThan(1e-3); // informative outputs, so the tolerance means something
  expect(maxAbsDiff(got, ref)).toBeLessThan(TOL * Math.max(1, scale));
};

describe('DeepLabv3-MobileViT as ONNX', () => {
  it.each([[[64, 64]], [[80, 48]]] as [[number, number]][])('XXS at %j, batch 2: onnxruntime gives the studio\'s logits at 1/16', async (size) => {
    const model = randomizeVectors(new SegmentationModel('deeplabv3_mobilevit_xxs', 5, 3), 3);
    try {
      const x = randomImages(2, size, 7);
      const ref = tf.tidy(() => model.forward(tf.tensor4d(x, [2, ...size, 3])).dataSync().slice() as Float32Array);
      const out = (await ortOutputs(exportSegmentationOnnx(model, { size }), x, [2, ...size])).logits;
      const dims = [2, 5, Math.ceil(size[0] / 16), Math.ceil(size[1] / 16)];
      expect(out.dims).toEqual(dims);
      within(toNhwc(out.data as Float32Array, dims), ref);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('has dilated convolutions, the image pooling, the labels and the output stride in its metadata', () => {
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 1);
    const m = decodeModel(exportSegmentationOnnx(model, { size: [64, 96], labels: ['background', 'cat', 'dog'] }));
    model.dispose();
    const nodes = m.graph!.node!;
    const dilations = nodes.filter((n) => n.name!.startsWith('segmentation_head.aspp/convs.') && n.opType === 'Conv')
      .map((n) => Number(n.attribute!.find((a) => a.name === 'dilations')!.ints![0]));
    expect(dilations).toEqual([1, 6, 12, 18, 1]);
    expect(nodes.map((n) => n.opType)).toEqual(expect.arrayContaining(['GlobalAveragePool', 'Expand']));
    expect(m.graph!.output!.map((o) => o.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue)))).toEqual([['batch', 3, 4, 6]]);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ task: 'segmentation', output_stride: '16', variant: 'deeplabv3_mobilevit_xxs' });
    expect(JSON.parse(meta.labels)).toEqual(['background', 'cat', 'dog']);
    expect(JSON.parse(meta.input_size)).toEqual([3, 64, 96]);
  });

  it('refuses labels that do not fit and sizes outside the range', () => {
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 1);
    expect(() => exportSegmentationOnnx(model, { size: [64, 64], labels: ['a', 'b'] })).toThrow(/2 labels for a 3-class model/);
    expect(() => exportSegmentationOnnx(model, { size: [64, 16] })).toThrow(/image width must be an integer from 32/);
    model.dispose();
  });
});

describe('SSDLite-MobileViT as ONNX', () => {
  const classes = 4;

  it.each([[[128, 128]], [[96, 128]]] as [[number, number]][])('XXS at %j, batch 2: anchors equal, deltas and logits within 1e-4', async (size) => {
    const model = randomizeVectors(new DetectionModel('ssdlite_mobilevit_xxs', classes, 5), 5);
    try {
      const x = randomImages(2, size, 9);
      const ref = studioOutputs(model, x, size);
      const out = await ortOutputs(exportDetectionOnnx(model, { size }), x, [2, ...size]);
      const count = ref.anchors.length / 4;
      expect(out.anchors.dims).toEqual([count, 4]);
      expect(out.anchors.data).toEqual(ref.anchors);
      expect(out.box_deltas.dims).toEqual([2, count, 4]);
      expect(out.class_logits.dims).toEqual([2, count, classes]);
      within(out.box_deltas.data as Float32Array, ref.deltas);
      within(out.class_logits.data as Float32Array, ref.logits);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('with the post-processing in the graph: the detections of every image are the studio\'s, NMS and the per-class cap included', async () => {
    const size: [number, number] = [96, 128];
    const model = randomizeVectors(new DetectionModel('ssdlite_mobilevit_xxs', classes, 8), 8);
    try {
      const x = randomImages(2, size, 4);
      const ref = studioOutputs(model, x, size);
      const count = ref.anchors.length / 4;
      const aboveThreshold = (t: number) => tf.tidy(() => tf.softmax(tf.tensor2d(ref.logits, [2 * count, classes])).slice([0, 1], [-1, -1]).greater(t).sum().dataSync()[0]);
      for (const perClass of [200, 20]) {
        const opts = { ...SSD_POSTPROCESS, scoreThreshold: 0.3, perClass, perImage: undefined };
        const expected = [0, 1].map((i) => postprocess(ref.logits.subarray(i * count * classes, (i + 1) * count * classes), ref.deltas.subarray(i * count * 4, (i + 1) * count * 4), ref.anchors, classes, opts));
        const out = await ortOutputs(exportDetectionOnnx(model, { size, postprocess: opts }), x, [2, ...size]);
        const n = expected.reduce((s, d) => s + d.scores.length, 0);
        // Detections in both images, of every class, and fewer than the scores above the threshold: NMS (or the cap) removed some.
        expect(expected.every((d) => new Set(d.labels).size === classes - 1)).toBe(true);
        expect(n).toBeLessThan(aboveThreshold(opts.scoreThreshold));
        if (perClass === 20) expect(n).toBe(2 * 3 * 20);
        expect(out.det_boxes.dims).toEqual([n, 4]);
        expect([...(out.det_image.data as BigInt64Array)].map(Number)).toEqual(expected.flatMap((d, i) => [...d.labels].map(() => i)));
        expect([...(out.det_labels.data as BigInt64Array)].map(Number)).toEqual(expected.flatMap((d) => [...d.labels]));
        within(out.det_scores.data as Float32Array, Float32Array.from(expected.flatMap((d) => [...d.scores])));
        within(out.det_boxes.data as Float32Array, Float32Array.from(expected.flatMap((d) => [...d.boxes])));
      }
    } finally {
      model.dispose();
    }
  }, 120_000);
});
