// Short segmentation and detection runs for the device tests (test/device/dense-train-on-*.test.ts): the generated
// datasets, a run on a device stopped where asked, and checkpoints compared tensor by tensor.
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ComputeDevice } from '../../src/device/device.ts';
import type { TensorMap } from '../../src/model/safetensors.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { makeDetectionDataset } from './detection-dataset.ts';
import { makeSegmentationDataset } from './segmentation-dataset.ts';

/** 10 images of 64 px a task (8 train and 2 validate at valFraction 0.2). */
export const DENSE_DATASETS = {
  segmentation: async (root: string) => void await makeSegmentationDataset(root, { layout: 'images-masks', count: 10, classes: 3, size: 64, labels: true, border: true }),
  detection: (root: string) => makeDetectionDataset(root, { layout: 'yolo', count: 10, classes: 2, size: 64 }),
};

export const lastWeights = (dir: string): TensorMap => new CheckpointStore(join(dir, FILES.checkpoints)).load('last')!.weights;

/** The largest difference between two checkpoints' tensors (the same keys and shapes). */
export function maxDifference(a: TensorMap, b: TensorMap): number {
  expect([...b.keys()]).toEqual([...a.keys()]);
  let max = 0;
  for (const [key, t] of a) {
    const u = b.get(key)!.data;
    for (let i = 0; i < t.data.length; i++) max = Math.max(max, Math.abs(t.data[i] - u[i]));
  }
  return max;
}

/** The run in `dir` on `device` (this process's backend when none), stopped after step `stopAt`. */
export async function runOn(dir: string, device?: ComputeDevice, stopAt?: number) {
  const events: TrainEvent[] = [];
  const control = new AbortController();
  const outcome = await runTraining(dir, {
    device, signal: control.signal, onEvent: (e) => events.push(e),
    afterStep: ({ step }) => { if (step === stopAt) control.abort('stop'); },
  });
  return { events, outcome };
}
