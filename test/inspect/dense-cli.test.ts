// The inspection commands on DeepLabv3-MobileViT and SSDLite-MobileViT (tiny XXS networks, random weights written
// here, 64 px images): attention through the backbone's MobileViT blocks with the class map or the boxes of the same
// pass, receptive fields after the ASPP and the extra layers, and profiles whose rows hold the ASPP's branches, the
// extra layers and every level's head with the registry's labels, summing to about the pass.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { RgbImage } from '../../src/data/decode.ts';
import { decodeForEval } from '../../src/data/eval-transform.ts';
import { asppPartNames } from '../../src/model/deeplabv3.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { SSDLITE_MOBILEVIT } from '../../src/model/registry/ssdlite-mobilevit.ts';
import { runCli } from '../helpers/cli.ts';
import { writePhoto } from '../helpers/dense-predictions.ts';
import * as tf from '@tensorflow/tfjs';
import { postprocess, SSD_POSTPROCESS } from '../../src/model/detection-postprocess.ts';

const dir = mkdtempSync(join(tmpdir(), 'dense-inspect-'));
const photo = join(dir, 'photo.png');
const segWeights = join(dir, 'seg.safetensors');
const detWeights = join(dir, 'det.safetensors');
let seg: SegmentationModel;
let det: DetectionModel;

beforeAll(async () => {
  await initBackend('cpu');
  await writePhoto(photo, 72, 52);
  seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 4, 11);
  saveWeights(seg, segWeights, { labels: JSON.stringify(['background', 'road', 'sky', 'car']) });
  det = new DetectionModel('ssdlite_mobilevit_xxs', 3, 12);
  saveWeights(det, detWeights, { labels: JSON.stringify(['background', 'cat', 'dog']) });
});
afterAll(() => {
  seg.dispose();
  det.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The photo as the attention command feeds it: the eval transform at 64 px, crop 1, bilinear. */
async function input(): Promise<tf.Tensor4D> {
  const img = await decodeForEval(photo, 64, 1, 'bilinear');
  return tf.tensor4d(img.data, [1, 64, 64, 3]);
}

const sumOf = (rows: number[][]) => rows.flat().reduce((s, v) => s + v, 0);

describe('attention on dense networks', () => {
  it('segmentation: a map summing to 1 over the backbone block\'s grid, the class map of the same pass, and its picture', async () => {
    const out = join(dir, 'seg-att');
    const r = await runCli('attention', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', segWeights, '--image', photo, '--image-size', '64',
      '--block', '0', '--layer', '0', '--patch', '1,1', '--out', out, '--json', '--backend', 'cpu');
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ block: 0, block_name: 'stages.2.1', grid: [4, 4], image_size: [64, 64], top5: [] });
    expect(sumOf(j.map)).toBeCloseTo(1, 6);
    // The classes present are those of the network's own argmax at 64 px (logits at 1/16 upsampled, align_corners false).
    const x = await input();
    const map = tf.tidy(() => tf.argMax(tf.image.resizeBilinear(seg.forward(x), [64, 64], false, true), 3));
    const pixels = Array.from(await map.data());
    tf.dispose([x, map]);
    const expected = ['background', 'road', 'sky', 'car'].map((label, i) => ({ label, share: pixels.filter((v) => v === i).length / pixels.length }))
      .filter((c) => c.share > 0);
    expect(j.classes.map((c: { label: string; share: number }) => [c.label, c.share])).toEqual(expected.map((c) => [c.label, c.share]));
    expect(j.files).toEqual([join(out, 'attention.png'), join(out, 'attention.json'), join(out, 'prediction.png')]);
    const picture = await sharp(join(out, 'prediction.png')).metadata();
    expect([picture.format, picture.width, picture.height]).toEqual(['png', 64, 64]);
    expect(JSON.parse(readFileSync(join(out, 'attention.json'), 'utf8')).classes).toEqual(j.classes);
  });

  it('detection: a rollout map summing to 1 and the boxes of the same pass above the threshold', async () => {
    const r = await runCli('attention', '--variant', 'ssdlite_mobilevit_xxs', '--weights', detWeights, '--image', photo, '--image-size', '64',
      '--block', '2', '--rollout', '--patch', '0,0', '--score-threshold', '0.2', '--json', '--backend', 'cpu');
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ block: 2, block_name: 'stages.4.1', layer: null, score_threshold: 0.2, top5: [] });
    expect(sumOf(j.map)).toBeCloseTo(1, 6);
    const x = await input();
    const o = det.forward(x);
    const found = postprocess(await o.classLogits.data(), await o.boxDeltas.data(), o.anchors, 3, { ...SSD_POSTPROCESS, scoreThreshold: 0.2 });
    tf.dispose([x, o.boxDeltas, o.classLogits]);
    expect(found.scores.length).toBeGreaterThan(0);
    expect(j.detections.map((d: { label: string }) => d.label)).toEqual(Array.from(found.labels, (l) => ['background', 'cat', 'dog'][l]));
    j.detections.forEach((d: { score: number; box: number[] }, i: number) => {
      expect(d.score).toBeCloseTo(found.scores[i], 5);
      d.box.forEach((v, k) => expect(v).toBeCloseTo(Math.min(64, Math.max(0, found.boxes[4 * i + k] * 64)), 3));
    });
  });

  it('a block beyond the backbone\'s MobileViT blocks is one clear line', async () => {
    const r = await runCli('attention', '--variant', 'ssdlite_mobilevit_xxs', '--weights', detWeights, '--image', photo, '--image-size', '64',
      '--block', '3', '--layer', '0', '--patch', '0,0', '--backend', 'cpu');
    expect(r.code).not.toBe(0);
    expect(r.err.join('\n')).toMatch(/block 3 is out of range: ssdlite_mobilevit_xxs has 3 MobileViT blocks \(0\.\.2\)/);
  });
});

describe('a segmentation run folder', () => {
  it('--run: attention names the run\'s classes, profile times the run\'s network (its settings name only the backbone)', async () => {
    const { dir: run } = createRun({ data: join(dir, 'masks'), task: 'segmentation', variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 },
      { runDir: join(dir, 'seg-run') });
    new CheckpointStore(join(run, 'checkpoints')).save('best', 1, stateDict(seg), null, {}, { variant: seg.variant });
    updateRun(run, { classes: ['background', 'leaf', 'stem', 'root'], status: 'finished', epochsDone: 1 });
    const a = await runCli('attention', '--run', run, '--image', photo, '--block', '2', '--layer', '1', '--patch', '1,1', '--json', '--backend', 'wasm');
    expect(a.code, a.err.join('\n')).toBe(0);
    const j = JSON.parse(a.out);
    // The run's 64 px: DeepLabv3's last stage runs at stride 16 (4 × 4), so 2 × 2 patches of 2 × 2.
    expect(j).toMatchObject({ image_size: [64, 64], grid: [2, 2], block_name: 'stages.4.1' });
    j.classes.forEach((c: { label: string; index: number }) => expect(c.label).toBe(['background', 'leaf', 'stem', 'root'][c.index]));
    const p = await runCli('profile', '--run', run, '--image-size', '64', '--runs', '1', '--warmup', '0', '--json', '--backend', 'wasm');
    expect(p.code, p.err.join('\n')).toBe(0);
    expect(JSON.parse(p.out).variant).toBe('deeplabv3_mobilevit_xxs');
  });
});

describe('receptive fields on dense networks', () => {
  it('after DeepLabv3\'s ASPP and SSDLite\'s last extra layer, by --variant alone (random init)', async () => {
    const s = await runCli('receptive-field', '--variant', 'deeplabv3_mobilevit_xxs', '--size', '64', '--block', '11', '--json', '--backend', 'wasm');
    expect(s.code, s.err.join('\n')).toBe(0);
    expect(JSON.parse(s.out).blocks).toMatchObject([{ index: 11, name: 'segmentation_head.aspp', kind: 'conv', feature_size: [4, 4] }]);
    expect(JSON.parse(s.out).blocks[0].coverage).toBeGreaterThan(0.5); // the image pooling branch sees every pixel
    const d = await runCli('receptive-field', '--variant', 'ssdlite_mobilevit_xxs', '--size', '64', '--block', '14', '--json', '--backend', 'wasm');
    expect(d.code, d.err.join('\n')).toBe(0);
    expect(JSON.parse(d.out).blocks).toMatchObject([{ index: 14, name: 'extra_layers.os_-1', feature_size: [1, 1] }]);
  });
});

describe('profile on dense networks', () => {
  const profile = async (variant: string) => {
    const r = await runCli('profile', '--variant', variant, '--image-size', '64', '--runs', '2', '--warmup', '1', '--json', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    return JSON.parse(r.out) as { total_ms: number; blocks_ms: number; blocks: { name: string; label: string | null; kind: string; ms: number; parts: { name: string; ms: number }[] }[] };
  };
  const sumOfParts = (b: { parts: { ms: number }[] }) => b.parts.reduce((s, p) => s + p.ms, 0);

  it('DeepLabv3: the ASPP split into its five branches and projection, the classifier, labels from the registry', async () => {
    const p = await profile('deeplabv3_mobilevit_xxs');
    const aspp = p.blocks.find((b) => b.name === 'segmentation_head.aspp')!;
    expect(aspp.parts.map((x) => x.name)).toEqual(asppPartNames());
    expect(aspp.parts.map((x) => x.name)).toEqual(['1×1', '3×3 rate 6', '3×3 rate 12', '3×3 rate 18', 'image pooling', 'projection']);
    expect(sumOfParts(aspp)).toBeLessThanOrEqual(aspp.ms * 1.001);
    expect(aspp.label).toMatch(/^ASPP/);
    expect(p.blocks.at(-1)).toMatchObject({ name: 'segmentation_head.classifier', kind: 'head', label: 'Classifier (1×1)' });
    expect(p.blocks.find((b) => b.name === 'stem')!.label).toBeNull();
    expect(p.blocks_ms).toBeCloseTo(p.blocks.reduce((s, b) => s + b.ms, 0), 6);
    // About the pass: each boundary's read-back in this process is nearly free; the margin is for a shared, loaded machine.
    expect(Math.abs(p.blocks_ms - p.total_ms) / p.total_ms).toBeLessThan(0.5);
  });

  it('SSDLite: the four extra layers and the six levels\' heads as blocks, labelled by the registry', async () => {
    const p = await profile('ssdlite_mobilevit_xxs');
    const labels = SSDLITE_MOBILEVIT.blockLabels!;
    const tail = p.blocks.slice(-10);
    expect(tail.map((b) => b.name)).toEqual([...['64', '128', '256', '-1'].map((s) => `extra_layers.os_${s}`), ...[0, 1, 2, 3, 4, 5].map((l) => `ssd_heads.${l}`)]);
    expect(tail.map((b) => b.label)).toEqual(tail.map((b) => labels[b.name]));
    expect(tail.slice(4).every((b) => b.kind === 'head')).toBe(true);
    tail.forEach((b) => expect(b.ms).toBeGreaterThan(0));
    const ort = await runCli('profile', '--variant', 'ssdlite_mobilevit_xxs', '--runtime', 'onnxruntime');
    expect([ort.code, ort.err.at(-1)]).toEqual([2, expect.stringMatching(/--runtime onnxruntime profiles classifiers only; ssdlite_mobilevit_xxs is a detection network/)]);
    expect(Math.abs(p.blocks_ms - p.total_ms) / p.total_ms).toBeLessThan(0.5);
  });
});
