// `forward`: runs `input_nhwc` of a safetensors file through the model in eval mode and writes `logits` (a
// classifier), or a segmentation or detection network's outputs (dense-forward.ts).
import { requireFlag, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { DEVICE_FLAG, withDevice, NETWORK_FLAG, networkFlag, variantFlag } from '../common.ts';
import { taskOf } from '../../model/registry/index.ts';
import { existsSync } from 'node:fs';
import { modelSourceFlags, resolveWeightsFlag, RUN_FLAG } from '../weights.ts';
import { readSafetensors, writeSafetensors } from '../../model/safetensors.ts';

export const command: CliCommand = {
  name: 'forward',
  summary: 'run input_nhwc from a safetensors file in eval mode and write logits',
  flags: {
    variant: NETWORK_FLAG,
    'num-classes': { type: 'number', description: 'classifier size (default: read from the weights)' },
    weights: { type: 'string', description: 'weights (.safetensors, timm or Hugging Face names), a zoo model (see models list) or a run folder' },
    run: RUN_FLAG,
    input: { type: 'string', description: 'safetensors file holding input_nhwc [B, H, W, 3] in [0, 1]' },
    output: { type: 'string', description: 'safetensors file to write to: logits [B, classes]; segmentation logits [B, h, w, C] at 1/16; detection anchors, box_deltas, class_logits' },
    'score-threshold': { type: 'number', description: 'detection only: also write the post-processed detections above this score (det_boxes, det_scores, det_labels, det_image)' },
    backend: DEVICE_FLAG,
  },
  async run(flags, io) {
    if (flags.weights === undefined && flags.run === undefined) throw new UsageError('give --weights FILE|MODEL or --run DIR');
    const inputPath = requireFlag<string>(flags, 'input');
    const outputPath = requireFlag<string>(flags, 'output');
    // A zoo name in --weights is pulled when not cached and names its network (a dense one's path is taken below).
    if (flags.run === undefined && typeof flags.weights === 'string' && !existsSync(flags.weights)) await resolveWeightsFlag(flags, io);
    // A segmentation or detection network is named by --variant; a classifier's may also come from its weights.
    const named = flags.variant === undefined ? undefined : networkFlag(flags);
    const readInput = () => {
      const input = readSafetensors(inputPath).tensors.get('input_nhwc');
      if (!input) throw new Error(`${inputPath}: no tensor named input_nhwc`);
      if (input.shape.length !== 4 || input.shape[3] !== 3) throw new Error(`${inputPath}: input_nhwc must be [B, H, W, 3], got [${input.shape}]`);
      // Activations grow with B × H × W: bound them before the model is built (16 M pixels ≈ a batch of 256 at 256 px).
      const [b, h, w] = input.shape;
      if (b < 1 || h < 32 || w < 32 || h > 4096 || w > 4096 || b * h * w > 16 * 1024 * 1024) {
        throw new Error(`${inputPath}: input_nhwc [${input.shape}] is outside the sizes forward runs (B ≥ 1, H and W from 32 to 4096, B × H × W at most 16 M pixels)`);
      }
      return input;
    };
    if (named !== undefined && taskOf(named) !== 'classification') {
      if (typeof flags.weights !== 'string') throw new UsageError(`${named}: give --weights FILE (a .safetensors or PyTorch checkpoint)`);
      const { denseForward } = await import('../dense-forward.ts');
      const { outputs, backend } = await denseForward({
        variant: named, weights: flags.weights, input: readInput(), backend: flags.backend as string | undefined,
        numClasses: flags['num-classes'] as number | undefined, scoreThreshold: flags['score-threshold'] as number | undefined,
      }, io);
      writeSafetensors(outputPath, outputs, { variant: named, backend });
      io.err(`wrote ${[...outputs].map(([k, t]) => `${k} [${t.shape}]`).join(', ')} to ${outputPath}`);
      return 0;
    }
    const source = await modelSourceFlags(flags, io); // a zoo name or repo id: pulled when not cached
    const variant = variantFlag(flags);
    return withDevice(flags, io, async ({ device }) => {
      const [tf, { deviceLogits }, { loadModel }] = await Promise.all([import('@tensorflow/tfjs'), import('../../device/inference.ts'), import('../../run/model.ts')]);
      const input = readInput();
      const { model, notes } = loadModel({ ...source, variant });
      for (const note of notes) io.err(note);
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const logits = await deviceLogits(device, model, x);
      const data = new Float32Array(await logits.data());
      writeSafetensors(outputPath, new Map([['logits', { shape: logits.shape.slice(), data }]]), { variant, backend: device.info.name });
      tf.dispose([x, logits]);
      model.dispose();
      io.err(`wrote logits [${logits.shape}] to ${outputPath}`);
      return 0;
    });
  },
};
