// A training run's validation passes follow the inference runtime rule (train/compute.ts): on onnxruntime, a copy
// of the weights exported in memory gives each epoch's validation numbers within float noise of TF.js's (loss within
// 1e-4, the same top-1), while the training itself (every step's loss, the final weights) stays bit for bit the
// same, and the run says where its validation ran; where onnxruntime cannot start, they stay on the run's device.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OrtModel } from '../../src/export/ort-model.ts';
import { initBackend } from '../../src/backend/index.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { epochs, steps, tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });
const before = process.env.MOBILEVIT_INFERENCE_RUNTIME;
afterEach(() => {
  if (before === undefined) delete process.env.MOBILEVIT_INFERENCE_RUNTIME;
  else process.env.MOBILEVIT_INFERENCE_RUNTIME = before;
});

async function trainWith(runtime: 'tfjs' | 'onnxruntime', data: string): Promise<{ events: TrainEvent[]; dir: string }> {
  process.env.MOBILEVIT_INFERENCE_RUNTIME = runtime;
  const { dir } = tinyRun(data, { epochs: 2, batchSize: 8, seed: 5 });
  const events: TrainEvent[] = [];
  const outcome = await runTraining(dir, { onEvent: (e) => events.push(e) });
  expect(outcome.error).toBeNull();
  return { events, dir };
}

describe('validation passes on the inference runtime rule', () => {
  it('onnxruntime: the validation numbers of TF.js within float noise, the training untouched; one that cannot start leaves the run\'s device', async () => {
    const data = await tinyDataset({ classes: 3, perClass: 8, seed: 3 });
    const a = await trainWith('tfjs', data);
    const b = await trainWith('onnxruntime', data);
    const warnings = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings(b.events)).toContain('validation passes on onnxruntime-node (asked for)');
    expect(warnings(a.events).some((w) => w.startsWith('validation passes'))).toBe(false); // TF.js on the run's device: nothing to add
    expect(steps(b.events).map((s) => s.loss)).toEqual(steps(a.events).map((s) => s.loss));
    const [ea, eb] = [epochs(a.events), epochs(b.events)];
    expect(ea).toHaveLength(2);
    for (let i = 0; i < ea.length; i++) {
      expect(Math.abs(ea[i].val!.loss - eb[i].val!.loss)).toBeLessThan(1e-4);
      expect(eb[i].val!.top1).toBe(ea[i].val!.top1);
    }
    const last = (dir: string) => new CheckpointStore(join(dir, FILES.checkpoints)).load('last')!.weights;
    const [wa, wb] = [last(a.dir), last(b.dir)];
    for (const [key, t] of wa) expect(Buffer.from(wb.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer)), key).toBe(true);

    // onnxruntime that cannot start leaves the run's device, as predict and eval do, instead of failing the run.
    const start = vi.spyOn(OrtModel, 'create').mockRejectedValue(new Error('no session here'));
    try {
      const c = await trainWith('onnxruntime', data);
      expect(warnings(c.events)).toContain("validation passes back on the run's device (onnxruntime could not start: no session here)");
      expect(start).toHaveBeenCalledTimes(1); // not tried again at every epoch
      expect(epochs(c.events).map((e) => e.val)).toEqual(ea.map((e) => e.val));
    } finally {
      start.mockRestore();
    }
  }, 300_000);
});
