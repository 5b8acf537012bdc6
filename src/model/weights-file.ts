// Weights files: safetensors with timm's keys and PyTorch layouts on disk (weights.ts does the checking and
// the layouts, free of file access, so a device page bundles it).
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import { loadWeights, stateDict, type LoadOptions, type LoadReport, type WeightsTarget } from './weights.ts';

export function saveWeights(model: WeightsTarget, path: string, metadata: Record<string, string> = {}): void {
  writeSafetensors(path, stateDict(model), { variant: model.variant, num_classes: String(model.numClasses), format: 'timm', ...metadata });
}

/** loadWeights from a safetensors file, named by its path in messages. */
export function loadWeightsFile(model: WeightsTarget, path: string, opts: LoadOptions = {}): LoadReport {
  return loadWeights(model, readSafetensors(path).tensors, { source: path, ...opts });
}
