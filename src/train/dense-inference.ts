// A segmentation or detection network opened for inference-mode passes (predict, a run's evaluation) on the
// runtime the rule picks (feature-runtime.ts openByRule, measured on the network's own outputs and kept per
// machine, network and size): onnxruntime-node on the studio's ONNX export of its current weights, made in memory
// (export/ort-dense.ts), or TF.js in this process, where these networks predict and evaluate. Their outputs agree
// within float noise and what follows them (upsampling and argmax, the detector's post-processing, the metrics) is
// the same code, so a result depends on the runtime by no more than that (test/export/dense-runtime.test.ts); it
// says which computed it.
import * as tf from '@tensorflow/tfjs';
import { describeDevice } from '../device/describe.ts';
import { defaultThreads } from '../device/parallel.ts';
import { OrtDetector, OrtSegmentation } from '../export/ort-dense.ts';
import { DetectionModel, type DetectorOutput } from '../model/detection.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';
import { openByRule, ortWhere, type FeatureSourceOptions, type RuntimeProbe } from './feature-runtime.ts';

/** Probe images of the measurement: a dense pass costs several classifier passes at the sizes these networks run. */
const DENSE_PROBE_IMAGES = 2;

type DenseNetwork = SegmentationModel | DetectionModel;
type OutputOf<N extends DenseNetwork> = N extends DetectionModel ? DetectorOutput : tf.Tensor4D;

export interface DenseInference<N extends DenseNetwork> {
  runtime: InferenceRuntime;
  /** Where the outputs are computed and why, in words (the result's line). */
  note: string;
  numClasses: number;
  /** Inference-mode outputs of x [n, size, size, 3], tensors of this process. */
  forward(x: tf.Tensor4D): Promise<OutputOf<N>>;
  dispose(): Promise<void>;
}

interface Runner<N extends DenseNetwork> {
  forward(x: tf.Tensor4D): Promise<OutputOf<N>>;
  dispose(): Promise<void>;
}

function tfjsRunner<N extends DenseNetwork>(network: N): Runner<N> {
  return {
    forward: async (x) => network.forward(x, { training: false }) as OutputOf<N>,
    dispose: async () => undefined, // the network is the caller's
  };
}

async function ortRunner<N extends DenseNetwork>(network: N, size: number, threads: number): Promise<Runner<N>> {
  const ort = network instanceof DetectionModel ? await OrtDetector.create(network, size, threads) : await OrtSegmentation.create(network, size, threads);
  return { forward: (x) => ort.forward(x) as Promise<OutputOf<N>>, dispose: () => ort.dispose() };
}

/** The outputs as one row of numbers, for the rule to compare the runtimes by. */
async function flat(out: tf.Tensor4D | DetectorOutput): Promise<Float32Array> {
  if (out instanceof tf.Tensor) {
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }
  const [deltas, logits] = [(await out.boxDeltas.data()) as Float32Array, (await out.classLogits.data()) as Float32Array];
  tf.dispose([out.boxDeltas, out.classLogits]);
  const row = new Float32Array(deltas.length + logits.length);
  row.set(deltas);
  row.set(logits, deltas.length);
  return row;
}

/** A runtime's runner as the rule measures it: its outputs as rows beside the runner's own forward. */
type DenseProbe<N extends DenseNetwork> = RuntimeProbe & Pick<Runner<N>, 'forward'>;

function probe<N extends DenseNetwork>(runtime: InferenceRuntime, runner: Runner<N>): DenseProbe<N> {
  return {
    runtime,
    forward: (x) => runner.forward(x),
    features: async (x, n, size) => {
      const input = tf.tensor4d(x, [n, size, size, 3]);
      try {
        return await flat(await runner.forward(input));
      } finally {
        input.dispose();
      }
    },
    close: () => runner.dispose(),
  };
}

/**
 * Opens `network` (its weights as they are now) at `size` × `size` px where the rule says; onnxruntime that cannot
 * start leaves TF.js, saying why. Where the rule measures, the runtime it measured is the one handed on, not opened
 * (and exported) again. dispose() releases the runtime's copy, never `network`.
 */
export async function openDenseInference<N extends DenseNetwork>(network: N, size: number, o: FeatureSourceOptions): Promise<DenseInference<N>> {
  const threads = defaultThreads();
  const { source, why } = await openByRule(network.variant, size, o, {
    tfjs: async () => probe('tfjs', tfjsRunner(network)),
    onnxruntime: async () => probe('onnxruntime', await ortRunner(network, size, threads)),
  }, DENSE_PROBE_IMAGES);
  const where = source.runtime === 'onnxruntime' ? ortWhere(threads) : `TF.js on ${describeDevice(o.device)}`;
  return { runtime: source.runtime, note: `${where} (${why})`, numClasses: network.numClasses, forward: source.forward, dispose: source.close };
}

/** The rule's opener for a run's evaluation (TaskRunOptions.runtime): its images at its size weigh whether to measure. */
export function denseEvalRuntime(o: Omit<FeatureSourceOptions, 'pixels'>) {
  return <N extends DenseNetwork>(network: N, size: number, images: number) => openDenseInference(network, size, { ...o, pixels: images * size * size });
}
