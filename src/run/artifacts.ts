// The files a run keeps besides its record, events and checkpoints: the class names in label order
// (labels.txt, what `predict --labels` takes) and each epoch's full evaluation (evaluations/epoch-NNN.json).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { FILES } from './record.ts';

export function writeLabels(dir: string, classes: readonly string[]): void {
  writeFileAtomic(join(dir, FILES.labels), classes.join('\n') + '\n');
}

/** Saves one epoch's evaluation (any JSON-able object); throws on a write failure (a full disk). */
export function writeEvaluation(dir: string, epoch: number, evaluation: object): void {
  const folder = join(dir, FILES.evaluations);
  mkdirSync(folder, { recursive: true });
  writeFileAtomic(join(folder, `epoch-${String(epoch).padStart(3, '0')}.json`), JSON.stringify({ epoch, ...evaluation }));
}
