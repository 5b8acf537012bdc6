// Training on a folder of images: the public surface of src/train.
//
//   import { createRun } from '../run/index.ts';
//   import { runTraining, evaluateModel } from '../train/index.ts';
//
//   // 1. A run folder (<workspace>/runs/<id>/, or exactly runDir) with run.json; settings are the
//   //    contract's TrainSettings (validated; defaults filled in; bad input names the field).
//   const { id, dir } = createRun({ data: '/photos', epochs: 10, imageSize: 128 }, { workspace, name });
//
//   // 2. Train it. The same call resumes: with a checkpoint in dir it continues exactly where the
//   //    checkpoint left off (same step, lr, sampler position, optimizer state; metrics.jsonl rewound).
//   const control = new AbortController();
//   const outcome = await runTraining(dir, {
//     onEvent: (e) => send(e),               // every TrainEvent, already appended to metrics.jsonl
//     signal: control.signal,                // control.abort('stop') or control.abort('pause'):
//   });                                      //   checkpoint after the current step, then resolve
//   // outcome.status: 'finished' | 'stopped' | 'paused' | 'failed' (outcome.error says why).
//   // runTraining resolves for everything that happens during training (a NaN loss, a bad image
//   // folder, an exception) after recording it as a 'failed' event and in run.json; it rejects only
//   // when dir is not a run, the run has finished, or another process holds its lock (RunLockedError).
//
//   // 3. Evaluate a run's best checkpoint (or any weights file on a dataset folder).
//   const result = await evaluateModel({ run: dir });  // loss, top1, top5, perClass, confusion, misclassified
//
// The backend must be initialised before (src/backend's initBackend). Events: see TrainEvent in
// src/protocol/contract.ts; the step event also carries acc (train batch top-1) and batch/batches.
// Recipe defaults and why: ./defaults.ts. The run folder (record, events, checkpoints, lock, failure
// records) belongs to src/run.
export { runTraining, type TrainingOptions, type TrainingOutcome, type TrainingStatus } from './loop.ts';
export { evaluateModel, type EvalRunOptions, type EvalRunResult } from './eval-run.ts';
export { evaluateSegmentationRun, type SegmentationRunResult } from './segmentation-eval-run.ts';
export type { Evaluation, Misclassified } from './evaluate.ts';
