// `bench`: what this machine does with a variant — the median forward pass (inference) or optimizer step
// (training) after warm-up — as a user would ask before choosing an image size or batch size — on the compute
// device --backend names: this process, or a Chromium page (webgpu, webgl, wasm-threads).
import { positiveInt, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { DEVICE_FLAG, inputSize, variantFlag, VARIANT_FLAG, withDevice } from '../common.ts';
import type { SpeedMode } from '../../train/speed.ts';

const MODES: SpeedMode[] = ['inference', 'training'];

export const command: CliCommand = {
  name: 'bench',
  summary: 'time forward passes or training steps of a variant on this machine',
  flags: {
    variant: VARIANT_FLAG,
    mode: { type: 'string', description: MODES.join(' | '), default: 'inference' },
    'image-size': { type: 'number', description: 'input side in px', default: 256 },
    'batch-size': { type: 'number', description: 'images per pass or step', default: 1 },
    runs: { type: 'number', description: 'timed runs after warm-up (the median is reported)', default: 10 },
    backend: DEVICE_FLAG,
    json: { type: 'boolean', description: 'print one JSON line: variant, mode, imageSize, batchSize, backend, workers, medianMs, imagesPerSec, runs, device, adapter, software' },
  },
  async run(flags, io) {
    const variant = variantFlag(flags);
    const mode = flags.mode as SpeedMode;
    if (!MODES.includes(mode)) throw new UsageError(`--mode must be ${MODES.join(' or ')}, got "${flags.mode}"`);
    const imageSize = inputSize(positiveInt(flags, 'image-size')!, 'image-size');
    const batchSize = positiveInt(flags, 'batch-size')!;
    const runs = positiveInt(flags, 'runs')!;
    return withDevice(flags, io, async ({ device }) => {
      const [{ describeDevice }, { measureSpeed }] = await Promise.all([import('../../device/describe.ts'), import('../../train/speed.ts')]);
      const r = await measureSpeed({ variant, mode, imageSize, batchSize, runs }, (done, total) => {
        if (!flags.json) io.err(`run ${done}/${total}`);
      }, device);
      if (flags.json) {
        const { times: _times, ...line } = r;
        io.out(JSON.stringify(line));
      } else {
        const what = mode === 'training' ? 'optimizer step (forward + backward + AdamW)' : 'forward pass';
        // A page device's time includes the batch's trip to the page and the answer's back.
        const trip = device.info.host === 'this process' ? '' : ', round trip to the page included';
        io.out(`${variant}, ${mode}, ${imageSize}×${imageSize}, batch ${batchSize}, on ${describeDevice(device)}: median ${what} ${r.medianMs.toFixed(1)} ms over ${runs} runs${trip}, ${r.imagesPerSec.toFixed(1)} images/s`);
      }
      return 0;
    });
  },
};
