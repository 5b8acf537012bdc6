// The Train form's table of what each task refuses (renderer/src/lib/task-offers.ts) against the tasks' own
// refusals: a setting the form offers a task must not make its run throw, and one it hides must.
import { describe, expect, it } from 'vitest';
import { LocalDevice } from '../../src/device/device.ts';
import { TrainSettings } from '../../src/protocol/contract.ts';
import { trainingTask } from '../../src/train/tasks/index.ts';
import type { PrepareContext } from '../../src/train/tasks/task.ts';
import { refusal, type Refusable } from '../../renderer/src/lib/task-offers.ts';

const ASKS: Record<Refusable, object> = {
  headOnly: { headOnly: true, weights: '/nowhere/w.safetensors' },
  weights: { weights: '/nowhere/w.safetensors' },
  randAugment: { augmentation: { randAugment: true } },
};

describe('what the Train form offers each task', () => {
  for (const task of ['segmentation', 'detection'] as const) {
    for (const setting of Object.keys(ASKS) as Refusable[]) {
      it(`${task}: ${setting} is ${refusal(task, setting) ? 'refused' : 'offered'} as the task decides`, async () => {
        const s = TrainSettings.parse({ data: '/nowhere/dataset', task, ...ASKS[setting] });
        const ctx = { device: new LocalDevice('cpu'), warn: () => {} } as unknown as PrepareContext;
        // The task's settings check, then its scan, as the loop runs them. The folder does not exist, so every scan
        // fails: a refusal fails first and names the setting.
        const t = trainingTask(task);
        const error = await Promise.resolve().then(() => t.check?.(s)).then(() => t.scan(ctx, s)).then(() => null, (e: Error) => e.message);
        expect(error).not.toBeNull();
        const refused = new RegExp(`\\b${setting}\\b`).test(error!) && !error!.includes('/nowhere/dataset');
        expect(refused, error!).toBe(refusal(task, setting) != null);
      });
    }
  }
});
