// runs.export in the engine: ONNX, safetensors (timm keys) or the timm recipe of a run, written into the
// folder the service names (the run's exports/). ONNX and safetensors load the checkpoint, hence the engine.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from '../export/export-model.ts';
import type { EngineParams, EngineResult } from '../protocol/engine.ts';
import type { HandlerContext } from './dispatch.ts';
import { serial } from './models.ts';

const EXTENSION = { onnx: 'onnx', safetensors: 'safetensors', 'timm-recipe': 'timm-recipe.yaml' } as const;

export function exportRun(p: EngineParams<'export'>, ctx: HandlerContext): Promise<EngineResult<'export'>> {
  return serial(async () => {
    mkdirSync(p.outDir, { recursive: true });
    const name = p.format === 'timm-recipe' ? p.runId : `${p.runId}-${p.checkpoint}${p.format === 'onnx' && p.imageSize ? `-${p.imageSize}px` : ''}`;
    ctx.progress(0, 1, `exporting ${p.format}`);
    const r = exportModel({
      format: p.format, out: join(p.outDir, `${name}.${EXTENSION[p.format]}`),
      run: p.runDir, checkpoint: p.checkpoint, imageSize: p.imageSize, opset: p.opset,
    });
    ctx.progress(1, 1, `exported ${p.format}`);
    return { runId: p.runId, format: r.format, files: r.files, notes: r.notes, ...(r.command ? { command: r.command } : {}) };
  });
}
