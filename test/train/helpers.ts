// Small runs for the training tests: a generated dataset that MobileViT-XXS learns at 32 px within a
// few epochs, and a run folder in a temporary workspace.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDataset, type MakeDatasetOptions } from '../helpers/dataset.ts';
import type { TrainEvent, TrainSettingsInput } from '../../src/protocol/contract.ts';
import { createRun } from '../../src/run/index.ts';

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
