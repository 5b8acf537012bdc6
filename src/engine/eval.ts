// eval.run in the engine: src/train/eval-run.ts evaluates a run's checkpoint on the run's validation
// images; this adds thumbnails of the misclassified ones for the window's gallery.
import { makeThumbnail } from '../data/thumbnail.ts';
import type { EngineParams, EngineResult } from '../protocol/engine.ts';
import { evaluateModel } from '../train/eval-run.ts';
import { openInferenceModel } from '../train/inference-model.ts';
import type { HandlerContext } from './dispatch.ts';
import { serial } from './models.ts';
import type { EngineDevices } from './devices.ts';
import { heapOf } from '../device/heap.ts';

const THUMBNAIL_SIZE = 96;

export function evaluateRun(p: EngineParams<'eval'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'eval'>> {
  return serial(async () => {
    const device = await devices.current();
    const r = await evaluateModel({
      heap: heapOf(device), // batches cut to what fits the device's memory
      // Where the inference runtime rule says (train/feature-runtime.ts): onnxruntime, or TF.js on the engine's
      // device, whatever it is (wasm-workers split the images across their threads).
      runtime: (model, size, images) => openInferenceModel(model, size, { device, pixels: images * size * size }),
      run: p.runDir,
      checkpoint: p.checkpoint,
      onProgress: (task, done, total) => ctx.progress(done, total, task === 'scan' ? 'checking the images' : 'preparing the images'),
    });
    const misclassified: EngineResult<'eval'>['misclassified'] = [];
    for (const m of r.misclassified.slice(0, p.maxMisclassified)) {
      try {
        const t = await makeThumbnail(m.file, { size: THUMBNAIL_SIZE });
        misclassified.push({ ...m, thumbnail: `data:${t.mime};base64,${t.data.toString('base64')}` });
      } catch {
        // Deleted or changed since the evaluation: it stays counted in misclassifiedTotal.
      }
    }
    return {
      checkpoint: p.checkpoint,
      classes: r.classes,
      confusion: r.confusion,
      perClass: r.perClass,
      loss: r.loss,
      top1: r.top1,
      top5: r.top5,
      misclassified,
      misclassifiedTotal: r.misclassified.length,
      runtime: r.runtime,
      ...(r.runtimeNote ? { runtimeNote: r.runtimeNote } : {}),
    };
  }, ctx.signal);
}
