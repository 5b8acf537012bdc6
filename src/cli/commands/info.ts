// `info`: parameters, multiply-adds and output shape of every block of a network: a classifier, or a DeepLabv3
// segmentation or SSDLite detection model.
import { positiveInt } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { BACKEND_FLAG, JSON_FLAG, NETWORK_FLAG, fmtInt, fmtMacs, setupBackend, table, networkFlag, inputSize } from '../common.ts';
import { FAMILIES } from '../../model/registry/families.ts';
import { familyOf } from '../../model/registry/index.ts';

/** "1000 for MobileViT and MobileNetV2, 21 for DeepLabv3-MobileViT, …": each family's default label count. */
const DEFAULT_CLASSES = [...new Set(FAMILIES.map((f) => f.defaultClasses))]
  .map((n) => `${n} for ${FAMILIES.filter((f) => f.defaultClasses === n).map((f) => f.label).join(' and ')}`).join(', ');

export const command: CliCommand = {
  name: 'info',
  summary: 'parameters, multiply-adds and output shape of every block',
  flags: {
    variant: NETWORK_FLAG,
    'num-classes': { type: 'number', description: `output classes, the background included for segmentation and detection (default ${DEFAULT_CLASSES})` },
    'image-size': { type: 'number', description: 'input height and width in pixels (≥ 32)', default: 256 },
    backend: BACKEND_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const variant = networkFlag(flags);
    const { task, defaultClasses } = familyOf(variant)!;
    const numClasses = positiveInt(flags, 'num-classes') ?? defaultClasses;
    const size = inputSize(positiveInt(flags, 'image-size')!, 'image-size');
    await setupBackend(flags, io);
    const [tf, { createNetwork }, { summarize }] = await Promise.all([import('@tensorflow/tfjs'), import('../../model/networks.ts'), import('../../model/summary.ts')]);
    const model = createNetwork(variant, numClasses);
    const s = summarize(model, size);
    model.dispose();
    if (flags.json) {
      io.out(JSON.stringify({ variant, task, num_classes: numClasses, image_size: size, backend: tf.getBackend(), params: s.params, macs: s.macs, blocks: s.blocks }));
      return 0;
    }
    io.out(`${variant}, ${numClasses} classes, ${size}×${size} input: ${fmtInt(s.params)} parameters, ${fmtMacs(s.macs)}MACs`);
    io.out(table(['block', 'kind', 'params', 'MACs', 'output'],
      s.blocks.map((b) => [b.name, b.kind, b.params, b.macs, `[${b.output.join(', ')}]`])));
    return 0;
  },
};
