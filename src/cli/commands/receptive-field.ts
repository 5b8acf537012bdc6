// `receptive-field`: the effective receptive field of one output location after each block (or one),
// with how much of the image it covers — local before the first MobileViT block, global after it. A segmentation
// or detection network's blocks on its one path from the image are measured too (its ASPP, its extra layers). The gradients
// are taken on the compute device --backend names (this process, or a Chromium page: webgpu, webgl, wasm-threads).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { positiveInt, UsageError } from '../args.ts';
import type { CliCommand, CliIO } from '../command.ts';
import { DEVICE_FLAG, JSON_FLAG, NETWORK_FLAG, table, networkFlag, inputSize, withDevice } from '../common.ts';
import { parseCell } from '../../inspect/args.ts';
import { modelSourceFlags, RUN_FLAG } from '../weights.ts';
import { INFERENCE_FLAGS, explicitPreprocessing } from '../preprocessing-flags.ts';
import type { RgbImage } from '../../inspect/overlay.ts';
import type { ReceptiveField } from '../../inspect/receptive-field.ts';

/** The random image's side when nothing records one: small enough that a field per block stays quick. */
const RANDOM_IMAGE_SIZE = 128;

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function fieldJson(f: ReceptiveField) {
  return {
    index: f.index, name: f.name, kind: f.kind, coverage: f.coverage, support: f.support,
    location: f.location, feature_size: f.featureSize,
  };
}

function printText(io: CliIO, source: string, size: number, fields: ReceptiveField[], files: string[]): void {
  io.out(`effective receptive field of one output location, input ${size}×${size} (${source})`);
  io.out('coverage: pixels at ≥ 1% of the maximum gradient; support: at ≥ 1e-4 of it');
  io.out(table(['#', 'block', 'kind', 'feature map', 'location', 'coverage', 'support'],
    fields.map((f) => [f.index, f.name, f.kind, f.featureSize.join('×'), f.location.join(','), pct(f.coverage), pct(f.support)])));
  for (const f of files) io.out(`wrote ${f}`);
}

/** A file name per block: field-06-stages.2.1.png. */
const fileName = (f: ReceptiveField, what: string) => `${what}-${String(f.index).padStart(2, '0')}-${f.name}.png`;

export const command: CliCommand = {
  name: 'receptive-field',
  summary: 'effective receptive field (|∂ output / ∂ input|) of one location after each block, with coverage and support',
  flags: {
    variant: NETWORK_FLAG,
    'num-classes': { type: 'number', description: 'classes of the weights file (default: read from the file)' },
    weights: { type: 'string', description: 'safetensors with timm, Hugging Face or ml-cvnets names, a PyTorch checkpoint, a zoo model or a run folder (default: seeded random init)' },
    run: RUN_FLAG,
    image: { type: 'string', description: 'measure on this image (default: a seeded random image)' },
    size: { type: 'number', description: `input size in pixels (default: the run's or zoo model's, else ${RANDOM_IMAGE_SIZE})` },
    'eval-crop': INFERENCE_FLAGS['eval-crop'],
    interpolation: INFERENCE_FLAGS.interpolation,
    seed: { type: 'number', description: 'seed of the random image and of the random init', default: 0 },
    block: { type: 'number', description: 'network block index (default: every block with a spatial output)' },
    location: { type: 'string', description: 'output location row,col in the block\'s feature map (needs --block; default: the centre)' },
    out: { type: 'string', description: 'folder for one heatmap PNG per block (and overlays with --image) and receptive-field.json' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const source = await modelSourceFlags(flags, io); // a zoo name or repo id: pulled when not cached
    const variant = networkFlag(flags);
    const givenSize = positiveInt(flags, 'size');
    if (givenSize !== undefined) inputSize(givenSize, 'size');
    const explicit = { ...explicitPreprocessing(flags), imageSize: givenSize };
    const seed = flags.seed as number;
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${seed}"`);
    if (flags.block !== undefined && !(Number.isInteger(flags.block) && (flags.block as number) >= 0))
      throw new UsageError(`--block must be a non-negative integer, got "${flags.block}"`);
    if (flags.location !== undefined && flags.block === undefined) throw new UsageError('--location needs --block (locations are per feature map)');
    let location: [number, number] | undefined;
    try {
      location = flags.location === undefined ? undefined : parseCell('location', flags.location as string);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return withDevice(flags, io, async ({ device }) => {
      const [{ inspectOn }, { loadImage, randomImage }, { loadNetwork }, { heatmapPng, overlayPng }, { spatialBlocks }, { FIELD_SCALE }, { inferencePreprocessing }, { checkFits }] = await Promise.all([
        import('../../device/inspect.ts'), import('../../inspect/image.ts'), import('../../run/model.ts'), import('../../inspect/overlay.ts'),
        import('../../inspect/receptive-field.ts'), import('../../inspect/results.ts'), import('../../protocol/recipe.ts'), import('../../device/heap.ts'),
      ]);
      const loaded = loadNetwork({ ...source, variant, seed });
      try {
        const pre = inferencePreprocessing(loaded, { ...explicit, imageSize: explicit.imageSize ?? loaded.imageSize ?? RANDOM_IMAGE_SIZE });
        const size = pre.imageSize;
        const all = spatialBlocks(loaded.model);
        const blocks = flags.block === undefined ? all : all.filter((b) => b.index === flags.block);
        if (blocks.length === 0)
          throw new UsageError(`--block ${flags.block} has no spatial output: blocks are 0..${all.length - 1} (${all.map((b) => b.name).join(', ')})`);
        // A field is a gradient with respect to the image: a backward pass, planned as a training pass of one image.
        checkFits(device, { what: 'receptive-field', variant: loaded.model.variant, size, images: 1, kind: 'train' });
        const image: RgbImage = flags.image !== undefined ? await loadImage(flags.image as string, pre) : randomImage(size, seed);
        const source = flags.image !== undefined ? (flags.image as string) : `random image, seed ${seed}`;
        // A location outside the block's feature map is the user's input (a RangeError in this process; a page
        // device's error arrives as its message alone).
        const fields = await inspectOn(device, loaded.model, (inspector) => inspector.receptiveFields(image, blocks.map((b) => all.indexOf(b)), location ?? null,
          flags.json ? undefined : (done, total) => io.err(`  ${done}/${total} ${blocks[done - 1].name}`)))
          .catch((e: Error) => { throw e instanceof RangeError || / is outside the .* feature map /.test(e.message) ? new UsageError(e.message) : e; });
        const files: string[] = [];
        const json = { variant, image_size: size, source, blocks: fields.map(fieldJson) };
        if (flags.out !== undefined) {
          const dir = flags.out as string;
          mkdirSync(dir, { recursive: true });
          for (const f of fields) {
            files.push(join(dir, fileName(f, 'field')));
            writeFileSync(files.at(-1)!, await heatmapPng(f.field, size, size, FIELD_SCALE));
            if (flags.image === undefined) continue;
            files.push(join(dir, fileName(f, 'overlay')));
            writeFileSync(files.at(-1)!, await overlayPng(image, f.field, FIELD_SCALE));
          }
          files.push(join(dir, 'receptive-field.json'));
          writeFileSync(files.at(-1)!, JSON.stringify(json, null, 1));
        }
        if (flags.json) io.out(JSON.stringify({ ...json, files }));
        else printText(io, source, size, fields, files);
        return 0;
      } finally {
        loaded.model.dispose();
      }
    });
  },
};
