// `info`: parameters, multiply-adds and output shape of every block of a variant.
import { positiveInt } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { BACKEND_FLAG, JSON_FLAG, VARIANT_FLAG, fmtInt, fmtMacs, setupBackend, table, variantFlag, inputSize } from '../common.ts';

export const command: CliCommand = {
  name: 'info',
  summary: 'parameters, multiply-adds and output shape of every block',
  flags: {
    variant: VARIANT_FLAG,
    'num-classes': { type: 'number', description: 'classifier size', default: 1000 },
    'image-size': { type: 'number', description: 'input height and width in pixels (≥ 32)', default: 256 },
    backend: BACKEND_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const variant = variantFlag(flags);
    const numClasses = positiveInt(flags, 'num-classes')!;
    const size = inputSize(positiveInt(flags, 'image-size')!, 'image-size');
    await setupBackend(flags, io);
    const [tf, { createModel }, { summarize }] = await Promise.all([import('@tensorflow/tfjs'), import('../../model/index.ts'), import('../../model/summary.ts')]);
    const model = createModel(variant, { numClasses });
    const s = summarize(model, size);
    model.dispose();
    if (flags.json) {
      io.out(JSON.stringify({ variant, num_classes: numClasses, image_size: size, backend: tf.getBackend(), params: s.params, macs: s.macs, blocks: s.blocks }));
      return 0;
    }
    io.out(`${variant}, ${numClasses} classes, ${size}×${size} input: ${fmtInt(s.params)} parameters, ${fmtMacs(s.macs)}MACs`);
    io.out(table(['block', 'kind', 'params', 'MACs', 'output'],
      s.blocks.map((b) => [b.name, b.kind, b.params, b.macs, `[${b.output.join(', ')}]`])));
    return 0;
  },
};
