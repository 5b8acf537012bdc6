// Weights files: safetensors with timm's keys and PyTorch layouts on disk (weights.ts does the checking and
// the layouts, free of file access, so a device page bundles it).
import { openSync, readSync, closeSync } from 'node:fs';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors.ts';
import { readTorchCheckpoint } from './torch-checkpoint.ts';
import { looksLikeZip } from '../util/zip.ts';
import { loadWeights, stateDict, type LoadOptions, type LoadReport, type WeightsTarget } from './weights.ts';

export function saveWeights(model: WeightsTarget, path: string, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, stateDict(model), { variant: model.variant, num_classes: String(model.numClasses), format: 'timm', ...metadata });
}

/** The first bytes of a file (fewer when it is shorter); an unreadable file is left for the real read to report. */
function head(path: string, n: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A weights file by its content, whatever its name: a PyTorch checkpoint (.pt/.pth/.bin: a zip, or a legacy pickle
 * that gets its own message) read without running it, else safetensors. PyTorch files carry no metadata.
 */
export function readWeightsFile(path: string): SafetensorsFile {
  const start = head(path, 4);
  if (looksLikeZip(start) || (start[0] === 0x80 && start[1] >= 2 && start[1] <= 5)) return { tensors: readTorchCheckpoint(path), metadata: {} };
  return readSafetensors(path);
}

/** loadWeights from a weights file (safetensors or PyTorch), named by its path in messages. */
export function loadWeightsFile(model: WeightsTarget, path: string, opts: LoadOptions = {}): LoadReport {
  return loadWeights(model, readWeightsFile(path).tensors, { source: path, ...opts });
}
