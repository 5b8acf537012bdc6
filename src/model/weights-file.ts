// Weights files: safetensors with timm's keys and PyTorch layouts on disk (weights.ts does the checking and
// the layouts, free of file access, so a device page bundles it).
import { parseSafetensors, readWeightsBytes, writeSafetensors, type SafetensorsFile } from './safetensors.ts';
import { isLegacyTorch, parseTorchCheckpoint } from './torch-checkpoint.ts';
import { looksLikeZip } from '../util/zip.ts';
import { loadWeights, stateDict, type LoadOptions, type LoadReport, type WeightsTarget } from './weights.ts';

export function saveWeights(model: WeightsTarget, path: string, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, stateDict(model), { variant: model.variant, num_classes: String(model.numClasses), format: 'timm', ...metadata });
}

/**
 * A weights file by its content, whatever its name: a PyTorch checkpoint (.pt/.pth/.bin: a zip, or a legacy pickle
 * that gets its own message) read without running it, else safetensors. PyTorch files carry no metadata. The file is
 * read once, through the same bounded read as safetensors (a FIFO or a device is refused, never opened blocking).
 */
export function readWeightsFile(path: string): SafetensorsFile {
  const bytes = readWeightsBytes(path);
  if (looksLikeZip(bytes) || isLegacyTorch(bytes)) return { tensors: parseTorchCheckpoint(bytes, path), metadata: {} };
  return parseSafetensors(bytes, path);
}

/** loadWeights from a weights file (safetensors or PyTorch), named by its path in messages. */
export function loadWeightsFile(model: WeightsTarget, path: string, opts: LoadOptions = {}): LoadReport {
  return loadWeights(model, readWeightsFile(path).tensors, { source: path, ...opts });
}
