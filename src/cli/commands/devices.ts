// `devices`: the compute devices this machine starts (the in-process backend; webgpu, webgl and threaded wasm
// in headless Chromium), their adapters, and their training speed as last measured on a model and size (the
// file the app's 'auto' keeps); --measure measures them again. The same probe as 'auto' (src/device/choice.ts).
import { positiveInt } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { JSON_FLAG, VARIANT_FLAG, defaultSpeedsFile, inputSize, setupBackend, table, variantFlag } from '../common.ts';
import { MEASURE_BATCH } from '../../device/choose.ts';
import { keptRuntimes, runtimesFileBeside } from '../../device/runtime-file.ts';
import { SpeedFile } from '../../device/speed-file.ts';
import { join } from 'node:path';

export const command: CliCommand = {
  name: 'devices',
  summary: 'the compute devices found here (in-process, Chromium pages) and their measured training speed',
  flags: {
    variant: { ...VARIANT_FLAG, description: `${VARIANT_FLAG.description} (default: mobilevit_xxs)` },
    'image-size': { type: 'number', description: 'training resolution measured, px', default: 256 },
    measure: { type: 'boolean', description: `measure every device again (a warm-up and two training steps of ${MEASURE_BATCH} images each)` },
    'include-software': { type: 'boolean', description: 'measure software GPU adapters too, where every GPU adapter is one (minutes of shader compilation)' },
    file: { type: 'string', description: "the measurements' file (default: device-speeds.json in the per-user data folder, as the app)" },
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const variant = variantFlag(flags, false);
    const imageSize = inputSize(positiveInt(flags, 'image-size')!, 'image-size');
    const local = await setupBackend(flags, io);
    const [{ probeDevices }, { deviceDeps }] = await Promise.all([import('../../device/choice.ts'), import('../../engine/devices.ts')]);
    const store = new SpeedFile((flags.file as string | undefined) ?? defaultSpeedsFile());
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop); // Ctrl-C closes the browsers before leaving
    let r;
    try {
      r = await probeDevices(local.name, { variant, imageSize, batch: MEASURE_BATCH }, store, {
        remeasure: flags.measure === true, lookupOnly: flags.measure !== true, measureSoftware: flags['include-software'] === true,
        signal: controller.signal, onProgress: (_done, _total, label) => io.err(label),
      }, deviceDeps());
    } finally {
      process.off('SIGINT', stop);
    }
    await r.device?.close();
    const t = r.table;
    // Where inference-mode work computes, as the runtime rule measured it on this machine (train/feature-runtime.ts).
    const runtimes = runtimesFileBeside(store.path);
    const kept = keptRuntimes(runtimes);
    if (flags.json) {
      io.out(JSON.stringify({ file: store.path, cached: r.cached, ...t, inferenceRuntimes: { file: runtimes, kept } }));
      return 0;
    }
    const measured = t.rows.some((row) => row.imagesPerSecond !== null);
    const when = measured ? `measured ${new Date(t.measuredAt).toLocaleString()}` : 'not measured (measure with --measure)';
    io.out(`${variant} at ${imageSize} px, batch ${t.batch}: ${when}`);
    io.out(table(['device', 'host', 'adapter', 'training', 'note'], t.rows.map((row) => [
      row.device, row.host ?? '—', `${row.adapter ?? '—'}${row.software ? ' (software)' : ''}`,
      row.imagesPerSecond === null ? '—' : `${row.imagesPerSecond.toFixed(1)} images/s`, row.note ?? '',
    ])));
    if (measured) io.out(`auto takes ${t.chosen}: ${t.reason}`);
    io.out(`(${store.path})`);
    const what = 'inference runtimes (quick fine-tune features, eval, predict)';
    io.out(kept.length === 0 ? `${what}: none measured yet (a quick run or an evaluation measures onnxruntime against TF.js once per model and size)`
      : `${what}:\n${kept.map((k) => `  ${k.variant} at ${k.size} px beside ${k.device}: ${k.runtime} (${k.reason})`).join('\n')}\n(${runtimes})`);
    return 0;
  },
};
