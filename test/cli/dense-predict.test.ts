// `predict` on a segmentation and a detection network (weights made here, tiny XXS, random init) and a generated
// photo that is neither square nor the network's size: the files it writes decode to what the network's own
// forward pass and post-processing give for that image, and --json says the same.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/data/decode.ts';
import { initBackend } from '../../src/backend/index.ts';
import { decodeIndexMask } from '../../src/data/mask-png.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { runCli } from '../helpers/cli.ts';
import { referenceClassMap, referenceDetections, writePhoto } from '../helpers/dense-predictions.ts';

const dir = mkdtempSync(join(tmpdir(), 'dense-predict-'));
const photo = join(dir, 'photo.png');
const [WIDTH, HEIGHT] = [72, 52];
let image: RgbImage;
beforeAll(async () => {
  await initBackend('cpu');
  image = await writePhoto(photo, WIDTH, HEIGHT);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('predict with a segmentation network', () => {
  it('writes the palette mask and its overlay, equal to the logits upsampled to the photo and argmaxed, and --json gives the shares', async () => {
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 4, 11);
    const weights = join(dir, 'seg.safetensors');
    saveWeights(model, weights, { labels: JSON.stringify(['background', 'road', 'sky', 'car']) });
    const out = join(dir, 'out', 'mask.png');
    const r = await runCli('predict', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image', photo, '--image-size', '64', '--out', out, '--json', '--backend', 'cpu');
    expect(r.code, r.err.join('\n')).toBe(0);
    const mask = decodeIndexMask(readFileSync(out), out);
    expect([mask.width, mask.height]).toEqual([WIDTH, HEIGHT]);
    // What the network itself says: its logits at 1/16 of 64 px upsampled to 72 × 52 (align_corners false), argmax.
    const expected = await referenceClassMap(model, image, 64);
    model.dispose();
    expect(Array.from(mask.data)).toEqual(Array.from(expected));
    expect(new Set(mask.data).size).toBeGreaterThan(1);
    const overlay = await sharp(overlayFile(out)).metadata();
    expect([overlay.width, overlay.height, overlay.format]).toEqual([WIDTH, HEIGHT, 'png']);
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ task: 'segmentation', width: WIDTH, height: HEIGHT, imageSize: 64, mask: out, overlay: overlayFile(out) });
    expect(json.classes.map((c: { label: string }) => c.label)).toEqual(['background', 'road', 'sky', 'car']);
    json.classes.forEach((c: { index: number; share: number }) => expect(c.share).toBeCloseTo(mask.data.filter((v) => v === c.index).length / mask.data.length, 12));
  }, 60_000);

  it('refuses a classifier\'s flags and an --out that is not a PNG, in words', async () => {
    const weights = join(dir, 'seg.safetensors');
    const crop = await runCli('predict', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image', photo, '--eval-crop', '0.9', '--backend', 'cpu');
    expect(crop.err.join('\n')).toMatch(/--eval-crop is for classifiers/);
    const jpg = await runCli('predict', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image', photo, '--out', join(dir, 'mask.jpg'), '--backend', 'cpu');
    expect(jpg.err.join('\n')).toMatch(/--out .*mask\.jpg: give a \.png file to write/);
    expect(crop.code * jpg.code).not.toBe(0);
  });
});

const overlayFile = (mask: string) => mask.replace(/\.png$/, '.overlay.png');

describe('predict with a detector', () => {
  it('prints the boxes above the threshold in the photo\'s pixels, as the network\'s forward pass and post-processing give them, and draws them', async () => {
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 5);
    const weights = join(dir, 'det.safetensors');
    saveWeights(model, weights);
    const out = join(dir, 'boxes.png');
    const r = await runCli('predict', '--variant', 'ssdlite_mobilevit_xxs', '--weights', weights, '--image', photo, '--image-size', '128',
      '--score-threshold', '0.34', '--out', out, '--json', '--backend', 'cpu');
    expect(r.code, r.err.join('\n')).toBe(0);
    const want = await referenceDetections(model, image, 128, 0.34);
    model.dispose();
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ task: 'detection', width: WIDTH, height: HEIGHT, scoreThreshold: 0.34, out });
    const got = json.detections as { label: string; index: number; score: number; box: number[] }[];
    expect(got.length).toBeGreaterThan(0);
    expect(got.map((d) => d.index)).toEqual(Array.from(want.labels));
    expect(got.map((d) => d.label)).toEqual(Array.from(want.labels, (l) => `class ${l}`));
    got.forEach((d, i) => {
      expect(d.score).toBeCloseTo(want.scores[i], 6);
      const scale = [WIDTH, HEIGHT, WIDTH, HEIGHT];
      d.box.forEach((v, k) => expect(v).toBeCloseTo(Math.min(scale[k], Math.max(0, want.boxes[4 * i + k] * scale[k])), 3));
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(WIDTH);
      expect(d.box[1]).toBeGreaterThanOrEqual(0);
      expect(d.box[3]).toBeLessThanOrEqual(HEIGHT);
    });
    expect(existsSync(out)).toBe(true);
    const drawn = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([drawn.info.width, drawn.info.height]).toEqual([WIDTH, HEIGHT]);
    expect(Buffer.compare(drawn.data, Buffer.from(image.data))).not.toBe(0);
  }, 60_000);

  it('takes only a score threshold in [0, 1)', async () => {
    const r = await runCli('predict', '--variant', 'ssdlite_mobilevit_xxs', '--weights', join(dir, 'det.safetensors'), '--image', photo, '--score-threshold', '1.5', '--backend', 'cpu');
    expect(r.code).not.toBe(0);
    expect(r.err.join('\n')).toMatch(/--score-threshold must be a number from 0 to below 1, got 1\.5/);
  });
});

describe('predict --run of a segmentation or a detection run', () => {
  it('predicts at the run\'s image size with its classes: the mask its checkpoint gives as a weights file, the boxes named', async () => {
    const seg = createRun({ data: join(dir, 'masks'), task: 'segmentation', variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { runDir: join(dir, 'seg-run') });
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 8);
    // As the training loop writes it: the network's name in the weights' metadata.
    new CheckpointStore(join(seg.dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: 'deeplabv3_mobilevit_xxs' });
    const weights = join(dir, 'seg-run.safetensors');
    saveWeights(model, weights);
    model.dispose();
    updateRun(seg.dir, { classes: ['background', 'leaf', 'stem'], status: 'finished' });
    const [fromRun, fromWeights] = [join(dir, 'run-mask.png'), join(dir, 'weights-mask.png')];
    const r = await runCli('predict', '--run', seg.dir, '--image', photo, '--out', fromRun, '--json', '--backend', 'cpu');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ imageSize: 64, variant: 'deeplabv3_mobilevit_xxs', classes: [{ label: 'background' }, { label: 'leaf' }, { label: 'stem' }] });
    const w = await runCli('predict', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', weights, '--image', photo, '--image-size', '64', '--out', fromWeights, '--backend', 'cpu');
    expect(w.code, w.err.join('\n')).toBe(0);
    expect(decodeIndexMask(readFileSync(fromRun)).data).toEqual(decodeIndexMask(readFileSync(fromWeights)).data);

    const det = createRun({ data: join(dir, 'boxes'), task: 'detection', variant: 'mobilevit_xxs', imageSize: 96, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { runDir: join(dir, 'det-run') });
    const detector = new DetectionModel('ssdlite_mobilevit_xxs', 3, 6);
    new CheckpointStore(join(det.dir, 'checkpoints')).save('last', 1, stateDict(detector), null, {}, { variant: 'ssdlite_mobilevit_xxs' });
    detector.dispose();
    updateRun(det.dir, { classes: ['cat', 'dog'], status: 'finished' });
    const d = await runCli('predict', '--run', det.dir, '--image', photo, '--score-threshold', '0.34', '--json', '--backend', 'cpu');
    expect(d.code, d.err.join('\n')).toBe(0);
    const json = JSON.parse(d.out);
    expect(json).toMatchObject({ task: 'detection', imageSize: 96 });
    expect(json.detections.length).toBeGreaterThan(0);
    for (const found of json.detections) expect(found.label).toBe(['background', 'cat', 'dog'][found.index]);
  }, 60_000);
});
