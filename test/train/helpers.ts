// Small runs for the training tests: a generated dataset that MobileViT-XXS learns at 32 px within a
// few epochs, and a run folder in a temporary workspace.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDataset, type MakeDatasetOptions } from '../helpers/dataset.ts';
import type { TrainEvent, TrainSettingsInput } from '../../src/protocol/contract.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { CheckpointStore, createRun, FILES, readEvents } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { expect } from 'vitest';

export async function tinyDataset(opts: Partial<MakeDatasetOptions> = {}): Promise<string> {
  const root = join(mkdtempSync(join(tmpdir(), 'train-data-')), 'data set ü'); // spaces and unicode on purpose
  await makeDataset(root, { classes: 4, perClass: 12, size: 40, ...opts });
  return root;
}

export function tinyRun(data: string, settings: Partial<TrainSettingsInput> = {}): { id: string; dir: string } {
  const workspace = mkdtempSync(join(tmpdir(), 'train-ws-'));
  return createRun({ data, imageSize: 32, epochs: 1, batchSize: 8, seed: 5, ...settings }, { workspace });
}

export type StepEvent = Extract<TrainEvent, { type: 'step' }>;
export const steps = (events: TrainEvent[]): StepEvent[] => events.filter((e): e is StepEvent => e.type === 'step');

export type EpochEvent = Extract<TrainEvent, { type: 'epoch' }>;
export const epochs = (events: TrainEvent[]): EpochEvent[] => events.filter((e): e is EpochEvent => e.type === 'epoch');

/**
 * A twin of the finished run `dir` (same data and settings) stopped after step 3 and resumed: its epochs'
 * validation and its last weights must be exactly those of the run that was never stopped.
 */
export async function expectExactResume(dir: string, data: string, settings: Partial<TrainSettingsInput>): Promise<void> {
  const { dir: twin } = tinyRun(data, settings);
  const stop = new AbortController();
  const first = await runTraining(twin, { signal: stop.signal, checkpointEverySteps: 2, onEvent: (e) => { if (e.type === 'step' && e.step === 3) stop.abort('stop'); } });
  expect(first.status).toBe('stopped');
  const resumed = await runTraining(twin, { checkpointEverySteps: 2 });
  expect(resumed.status).toBe('finished');
  const vals = (d: string) => epochs(readEvents(join(d, FILES.metrics)).events).map((e) => e.val);
  expect(vals(twin)).toEqual(vals(dir));
  const weights = (d: string) => readSafetensors(new CheckpointStore(join(d, FILES.checkpoints)).weightsPath('last')!).tensors;
  const [wa, wb] = [weights(dir), weights(twin)];
  for (const [key, t] of wa) expect(Buffer.from(wb.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer)), key).toBe(true);
}
