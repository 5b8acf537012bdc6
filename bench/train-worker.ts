// One training-throughput measurement in its own process (spawned by bench/train.ts), so that every
// configuration starts from a fresh heap and one that fails cannot take the others down:
//   node bin/run-ts.mjs bench/train-worker.ts '{"backend":"wasm","variant":"mobilevit_xxs","size":256,"batch":4,"steps":1}'
// Prints one JSON line: { imagesPerSec, msPerStep, passes } or { error }.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { createModel, type VariantName } from '../src/model/index.ts';
import { ADAMW } from '../src/train/defaults.ts';
import { imagesPerPass } from '../src/model/memory.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { stepSeeds } from '../src/util/random.ts';

export interface WorkerJob { backend: string; variant: VariantName; size: number; batch: number; steps: number }
export interface WorkerResult { imagesPerSec: number; msPerStep: number; passes: number }

async function measure(job: WorkerJob): Promise<WorkerResult> {
  await initBackend(job.backend);
  const model = createModel(job.variant, { numClasses: 10 });
  const trainer = new Trainer(model, { adamw: { ...ADAMW, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null });
  const x = tf.randomUniform([job.batch, job.size, job.size, 3]) as tf.Tensor4D;
  const labels = Int32Array.from({ length: job.batch }, (_, i) => i % 10);
  const perPass = imagesPerPass(tf.getBackend(), job.variant, job.size);
  let n = 0;
  const step = () => {
    const k = n++;
    return trainer.step(x, labels, 1e-3, (pass) => stepSeeds(1, k, pass), false, perPass);
  };
  await step(); // warm-up: kernel set-up, heap growth
  const t0 = performance.now();
  for (let i = 0; i < job.steps; i++) await step();
  const ms = (performance.now() - t0) / job.steps;
  return { imagesPerSec: +(job.batch / (ms / 1000)).toFixed(2), msPerStep: Math.round(ms), passes: Math.ceil(job.batch / Math.min(perPass, job.batch)) };
}

try {
  console.log(JSON.stringify(await measure(JSON.parse(process.argv[2]) as WorkerJob)));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message.split('\n')[0] }));
}
