// What the inspection handlers share: the model to run (the last one is kept loaded, since the UI asks
// many questions of the same model in a row) and the image (a path, or bytes dropped on the window).
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageInput } from '../protocol/contract.ts';
import { ImageReadError } from '../data/decode.ts';
import type { EngineModel } from '../protocol/engine.ts';
import { loadDenseModel, loadModel, loadNetwork, type LoadedDense, type LoadedModel } from '../run/model.ts';
import { taskOf } from '../model/registry/index.ts';
import { FILES, readRun } from '../run/index.ts';

let cached: { key: string; loaded: LoadedModel | LoadedDense } | null = null;

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** A run's checkpoint is rewritten while it trains: its manifest's mtime is part of the key. */
function keyOf(ref: EngineModel): string {
  if (ref.kind === 'run') return JSON.stringify([ref, mtime(join(ref.runDir, FILES.checkpoints, `${ref.checkpoint}.json`))]);
  return JSON.stringify([ref, ref.weights ? mtime(ref.weights) : 0]);
}

/** Loads (or reuses) the model; a run's labels, else the request's. */
export function modelFor(ref: EngineModel): LoadedModel {
  // Labels and the class count are checked against each other before any model of that size is built.
  if (ref.kind === 'weights' && ref.labels && ref.numClasses !== undefined && ref.labels.length !== ref.numClasses) {
    throw new RangeError(`${ref.labels.length} labels for ${ref.numClasses} classes`);
  }
  const loaded = kept(`classifier ${keyOf(ref)}`, () => loadModel(
    ref.kind === 'run'
      ? { run: ref.runDir, checkpoint: ref.checkpoint }
      : { variant: ref.variant, weights: ref.weights, numClasses: ref.numClasses ?? ref.labels?.length },
  ));
  const labels = loaded.labels ?? (ref.kind === 'weights' ? ref.labels : undefined) ?? null;
  if (labels && labels.length !== loaded.model.numClasses) {
    throw new RangeError(`${labels.length} labels for a model with ${loaded.model.numClasses} classes (${loaded.source})`);
  }
  return { ...loaded, labels };
}

/** The model `key` names, loaded by `load` unless it is the one kept; the one kept before is freed. */
function kept<T extends LoadedModel | LoadedDense>(key: string, load: () => T): T {
  if (cached?.key !== key) {
    const loaded = load();
    cached?.loaded.model.dispose();
    cached = { key, loaded };
  }
  return cached.loaded as T;
}

/** What the model was trained for: a run's recorded task; a weights reference's network's task. */
export function taskOfModel(ref: EngineModel): string {
  return ref.kind === 'run' ? readRun(ref.runDir).settings.task : taskOf(ref.variant) ?? 'classification';
}

/**
 * A segmentation or detection network (loaded, or reused): a run's with its classes and image size, or one a
 * network name gives with its weights file (without one, a seeded random init, as a classifier's) and labels.
 */
export function denseModelFor(ref: EngineModel): LoadedDense {
  const loaded = kept(`dense ${keyOf(ref)}`, () => ref.kind === 'run'
    ? loadDenseModel({ run: ref.runDir, checkpoint: ref.checkpoint })
    : loadNetwork({ variant: ref.variant, weights: ref.weights, numClasses: ref.numClasses ?? ref.labels?.length }) as LoadedDense);
  const labels = loaded.labels ?? (ref.kind === 'weights' ? ref.labels : undefined) ?? null;
  if (labels && labels.length !== loaded.model.numClasses) throw new RangeError(`${labels.length} labels for a network with ${loaded.model.numClasses} outputs (${loaded.source})`);
  return { ...loaded, labels };
}

/** Runs `fn` with a file path for the image: the path itself, or a temporary file holding the bytes. */
export async function withImageFile<T>(image: ImageInput, fn: (path: string) => Promise<T>): Promise<T> {
  if ('path' in image) return fn(image.path);
  const dir = await mkdtemp(join(tmpdir(), 'mobilevit-studio-'));
  try {
    const file = join(dir, 'dropped-image');
    await writeFile(file, Buffer.from(image.dataUrl.slice(image.dataUrl.indexOf(',') + 1), 'base64'));
    return await fn(file);
  } catch (e) {
    // The temporary file's path means nothing to the person who dropped the image (and is this machine's).
    throw e instanceof ImageReadError && e.file === join(dir, 'dropped-image') ? new ImageReadError('the dropped image', e.reason) : e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs inspection calls one at a time: they share the kept model, and interleaving only adds latency. A
 *  cancelled call releases the queue at once (src/engine/queue.ts). */
export { serial } from './queue.ts';
