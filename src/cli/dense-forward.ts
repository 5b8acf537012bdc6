// `forward` for the dense networks (DeepLabv3 segmentation, SSDLite detection): in this process, on an in-process
// backend, from a weights file (safetensors or a PyTorch checkpoint; transformers' and ml-cvnets' names load as
// they are, their BGR stems swapped). Writes what the references write: segmentation `logits` [B, h, w, C] at
// 1/16, not upsampled; detection `anchors` [A, 4], `box_deltas` [B, A, 4], `class_logits` [B, A, C], and with a
// score threshold the post-processed detections of every image (det_boxes, det_scores, det_labels, det_image).
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import type { NamedTensor, TensorMap } from '../model/safetensors.ts';
import { taskOf, type NetworkName } from '../model/registry/index.ts';

export interface DenseForwardArgs {
  variant: NetworkName;
  weights: string;
  input: NamedTensor;
  numClasses?: number;
  scoreThreshold?: number;
  backend?: string;
}

export async function denseForward(a: DenseForwardArgs, io: CliIO): Promise<{ outputs: TensorMap; backend: string }> {
  const task = taskOf(a.variant);
  if (task !== 'segmentation' && task !== 'detection') throw new UsageError(`${a.variant} is not a segmentation or detection network`);
  const [tf, { initBackend }, { formatBackendBanner }, { denseNetworkFromWeights }] = await Promise.all([
    import('@tensorflow/tfjs'), import('../backend/index.ts'), import('../backend/report.ts'), import('../model/dense-from-file.ts'),
  ]);
  io.err(formatBackendBanner(await initBackend(a.backend)));
  const { network: model, report } = denseNetworkFromWeights(a.variant, a.weights, a.numClasses);
  const { numClasses } = model;
  try {
    for (const note of report.notes) io.err(note);
    const x = tf.tensor4d(a.input.data, a.input.shape as [number, number, number, number]);
    const outputs: TensorMap = new Map();
    const put = async (name: string, t: { shape: number[]; data(): Promise<unknown> }) =>
      outputs.set(name, { shape: t.shape.slice(), data: new Float32Array((await t.data()) as Float32Array) });
    if (task === 'segmentation') {
      const logits = (model as import('../model/segmentation.ts').SegmentationModel).forward(x);
      await put('logits', logits);
      logits.dispose();
    } else {
      const { postprocess, SSD_POSTPROCESS } = await import('../model/detection-postprocess.ts');
      const out = (model as import('../model/detection.ts').DetectionModel).forward(x);
      const count = out.anchors.length / 4;
      outputs.set('anchors', { shape: [count, 4], data: out.anchors });
      await put('box_deltas', out.boxDeltas);
      await put('class_logits', out.classLogits);
      if (a.scoreThreshold !== undefined) {
        const [deltas, logits] = [outputs.get('box_deltas')!.data, outputs.get('class_logits')!.data];
        const boxes: number[] = [], scores: number[] = [], labels: number[] = [], images: number[] = [];
        for (let i = 0; i < x.shape[0]; i++) {
          const d = postprocess(logits.subarray(i * count * numClasses, (i + 1) * count * numClasses), deltas.subarray(i * count * 4, (i + 1) * count * 4),
            out.anchors, numClasses, { ...SSD_POSTPROCESS, scoreThreshold: a.scoreThreshold, perImage: undefined });
          boxes.push(...d.boxes);
          scores.push(...d.scores);
          labels.push(...d.labels);
          images.push(...d.labels.map(() => i));
        }
        outputs.set('det_boxes', { shape: [scores.length, 4], data: Float32Array.from(boxes) });
        outputs.set('det_scores', { shape: [scores.length], data: Float32Array.from(scores) });
        outputs.set('det_labels', { shape: [scores.length], data: Float32Array.from(labels) });
        outputs.set('det_image', { shape: [scores.length], data: Float32Array.from(images) });
      }
      tf.dispose([out.boxDeltas, out.classLogits]);
    }
    x.dispose();
    return { outputs, backend: tf.getBackend() };
  } finally {
    model.dispose();
  }
}
