// `attention`: where one patch of an image attends across all patches, in one MobileViT block (one
// layer or rolled out over its layers), from the model's own forward pass on the compute device --backend names
// (this process, or webgpu / webgl / wasm-threads in a Chromium page). A segmentation or detection network's
// backbone has the same blocks; its class map or boxes from the same pass are printed and drawn beside it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asUsage, UsageError, type ParsedFlags } from '../args.ts';
import type { CliCommand, CliIO } from '../command.ts';
import { DEVICE_FLAG, JSON_FLAG, NETWORK_FLAG, inputSize, networkFlag, scoreThreshold, withDevice } from '../common.ts';
import type { AttentionQuery } from '../../inspect/attention-math.ts';
import type { AttentionAnswer } from '../../inspect/attention.ts';
import { parseCell, parseCellOrMean, parseIndexOrMean } from '../../inspect/args.ts';
import { modelSourceFlags, RUN_FLAG } from '../weights.ts';
import { INFERENCE_FLAGS, explicitPreprocessing } from '../preprocessing-flags.ts';
import type { Prediction } from '../../protocol/contract.ts';
import type { DensePrediction } from '../../inspect/dense-attention.ts';

interface Request {
  block: number;
  query: AttentionQuery;
}

function parseRequest(flags: ParsedFlags): Request {
  if (flags.image === undefined) throw new UsageError('--image is required');
  if (flags.weights === undefined && flags.run === undefined) throw new UsageError('give --weights FILE or --run DIR');
  if (flags.weights !== undefined && flags.run !== undefined) throw new UsageError('give either --weights or --run, not both');
  if (flags.block === undefined) throw new UsageError('--block is required (MobileViT blocks count from 0)');
  const block = flags.block as number;
  if (!Number.isInteger(block) || block < 0) throw new UsageError(`--block must be a non-negative integer, got "${block}"`);
  if ((flags.layer === undefined) === !flags.rollout) throw new UsageError('give exactly one of --layer l and --rollout');
  const layer = flags.rollout ? 'rollout' : (flags.layer as number);
  if (layer !== 'rollout' && (!Number.isInteger(layer) || layer < 0)) throw new UsageError(`--layer must be a non-negative integer, got "${layer}"`);
  if (flags.patch === undefined) throw new UsageError('--patch row,col is required');
  return asUsage(() => ({
    block,
    query: {
      layer,
      head: parseIndexOrMean('head', String(flags.head)),
      patch: parseCell('patch', flags.patch as string),
      pixel: parseCellOrMean('pixel', String(flags.pixel)),
    },
  }));
}

/** A dense network's prediction as the JSON shows it: the classes present in the map, or the boxes. */
function denseJson(d: DensePrediction | null) {
  if (d === null) return {};
  return d.task === 'segmentation'
    ? { classes: d.classes.filter((c) => c.share > 0) }
    : { score_threshold: d.scoreThreshold, detections: d.detections };
}

function toJson(a: AttentionAnswer, top5: Prediction[], dense: DensePrediction | null, files: string[]) {
  return {
    block: a.block, layer: a.layer, head: a.head, patch: a.patch, pixel: a.pixel, grid: a.grid, map: a.map,
    block_name: a.blockName, patch_size: a.patchSize, feature_size: a.featureSize, image_size: a.imageSize, top5, ...denseJson(dense), files,
  };
}

function printPrediction(io: CliIO, top5: Prediction[], dense: DensePrediction | null): void {
  if (dense === null) io.out(`top-5: ${top5.map((p) => `${p.label} ${(p.prob * 100).toFixed(1)}%`).join(', ')}`);
  else if (dense.task === 'segmentation') {
    const present = dense.classes.filter((c) => c.share > 0).sort((p, q) => q.share - p.share);
    io.out(`class map: ${present.map((c) => `${c.label} ${(c.share * 100).toFixed(1)}%`).join(', ')}`);
  } else {
    io.out(`${dense.detections.length} box${dense.detections.length === 1 ? '' : 'es'} above ${dense.scoreThreshold}` +
      dense.detections.map((d) => `\n  ${d.label} ${d.score.toFixed(3)} at ${d.box.map((v) => v.toFixed(1)).join(', ')}`).join(''));
  }
}

function printText(io: CliIO, a: AttentionAnswer, top5: Prediction[], dense: DensePrediction | null, files: string[]): void {
  const layer = a.layer === null ? 'rollout over all layers' : `layer ${a.layer}`;
  const pixel = a.pixel === 'mean' ? 'mean over the patch pixels' : `pixel ${a.pixel.join(',')}`;
  io.out(`block ${a.block} (${a.blockName}), ${layer}, head ${a.head}, patch ${a.patch.join(',')}, ${pixel}`);
  io.out(`grid ${a.grid.join('×')} patches of ${a.patchSize.join('×')} over a ${a.featureSize.join('×')} feature map; image ${a.imageSize.join('×')} px`);
  printPrediction(io, top5, dense);
  // Relative to uniform attention (1/N), which reads the same at every grid size.
  const n = a.grid[0] * a.grid[1];
  io.out(`attention × ${n} (1.00 = uniform over the ${n} patches; * marks the query patch):`);
  a.map.forEach((row, r) => io.out(row.map((v, c) => `${(v * n).toFixed(2).padStart(5)}${r === a.patch[0] && c === a.patch[1] ? '*' : ' '}`).join('')));
  for (const f of files) io.out(`wrote ${f}`);
}

export const command: CliCommand = {
  name: 'attention',
  summary: 'where a patch attends across the image in a MobileViT block (a layer or the rollout)',
  flags: {
    variant: NETWORK_FLAG,
    'num-classes': { type: 'number', description: 'classes of the weights file (default: read from the file)' },
    weights: { type: 'string', description: 'safetensors with timm, Hugging Face or ml-cvnets names, a PyTorch checkpoint, or a zoo model (see models list)' },
    run: RUN_FLAG,
    image: { type: 'string', description: 'the image to inspect' },
    ...INFERENCE_FLAGS,
    block: { type: 'number', description: 'MobileViT block, from 0' },
    layer: { type: 'number', description: 'transformer layer inside the block, from 0' },
    rollout: { type: 'boolean', description: 'attention rollout over all layers of the block instead of one layer' },
    head: { type: 'string', description: 'attention head, or mean', default: 'mean' },
    patch: { type: 'string', description: 'query patch row,col in the patch grid' },
    pixel: { type: 'string', description: 'pixel inside the patch ph,pw, or mean', default: 'mean' },
    'score-threshold': { type: 'number', description: 'detection: the boxes shown beside the attention, those scoring above this (default 0.3)' },
    out: { type: 'string', description: 'folder for attention.png (overlay) and attention.json; for a segmentation or detection network also prediction.png (its class map or boxes)' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const { block, query } = parseRequest(flags);
    const givenThreshold = scoreThreshold(flags['score-threshold']);
    const explicit = explicitPreprocessing(flags);
    const source = await modelSourceFlags(flags, io); // a zoo name or repo id: pulled when not cached
    return withDevice(flags, io, async ({ device }) => {
      const [{ inspectOn }, { answerQuery, attentionOverlayScale, findBlock }, { checkBlockIndex }, { loadImage }, { loadNetwork }, { overlayPng }, { topK }, { inferencePreprocessing }, { checkFits }, { densePicture, densePrediction }, { DEFAULT_SCORE_THRESHOLD }] =
        await Promise.all([import('../../device/inspect.ts'), import('../../inspect/attention.ts'), import('../../inspect/capture.ts'), import('../../inspect/image.ts'),
          import('../../run/model.ts'), import('../../inspect/overlay.ts'), import('../../inspect/results.ts'), import('../../protocol/recipe.ts'), import('../../device/heap.ts'),
          import('../../inspect/dense-attention.ts'), import('../../inspect/dense-predict.ts')]);
      const loaded = asUsage(() => loadNetwork({ ...source, variant: networkFlag(flags) }));
      try {
        asUsage(() => checkBlockIndex(loaded.model, block));
        const pre = inferencePreprocessing(loaded, explicit);
        inputSize(pre.imageSize, 'image-size');
        checkFits(device, { what: 'attention', variant: loaded.model.variant, size: pre.imageSize, images: 1, kind: 'infer' });
        const image = await loadImage(flags.image as string, pre);
        // Only the asked block's weights come back (a large image's first block alone can hold 100 MB).
        const capture = await inspectOn(device, loaded.model, (inspector) => inspector.attention(image, [block]));
        const answer = asUsage(() => answerQuery(findBlock(capture.blocks, block), query, [image.height, image.width]));
        const top5 = topK(capture.probs, capture.numClasses, loaded.labels);
        const dense = capture.dense && densePrediction(capture.dense, image, loaded.labels, givenThreshold ?? DEFAULT_SCORE_THRESHOLD);
        const files: string[] = [];
        if (flags.out !== undefined) {
          const dir = flags.out as string;
          mkdirSync(dir, { recursive: true });
          files.push(join(dir, 'attention.png'), join(dir, 'attention.json'));
          writeFileSync(files[0], await overlayPng(image, answer.pixelMap, attentionOverlayScale(answer)));
          writeFileSync(files[1], JSON.stringify(toJson(answer, top5, dense, []), null, 1));
          if (dense) {
            files.push(join(dir, 'prediction.png'));
            writeFileSync(files[2], await densePicture(dense, image));
          }
        }
        if (flags.json) io.out(JSON.stringify(toJson(answer, top5, dense, files)));
        else printText(io, answer, top5, dense, files);
        return 0;
      } finally {
        loaded.model.dispose();
      }
    });
  },
};
