// The Attention and Latency views on a dense network, end to end in Chromium: a segmentation run (its folder made
// here with a random-init DeepLabv3 XXS checkpoint, as the training loop leaves one) shows a clicked patch's
// attention beside the class map of the same pass with its legend; the Latency view profiles DeepLabv3 with the
// ASPP's and the classifier's rows labelled by the registry and the ASPP expanding into its six parts.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { writePhoto } from '../helpers/dense-predictions.ts';
import { ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, type StudioPage } from './harness.ts';

let tmp: string;
let photo: string;
let studio: StudioPage;

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'dense-inspect-e2e-'));
  const workspace = join(tmp, 'workspace');
  photo = join(tmp, 'photo.png');
  await writePhoto(photo, 72, 52);
  const { dir } = createRun({ data: join(tmp, 'masks'), task: 'segmentation', variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 },
    { workspace, name: 'streets' });
  const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 21);
  new CheckpointStore(join(dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: model.variant });
  model.dispose();
  updateRun(dir, { classes: ['background', 'road', 'car'], status: 'finished', epochsDone: 1 });
  studio = await startStudio(workspace);
}, 120_000);

afterEach((ctx) => shotIfFailed(studio?.page, ctx.task, 'dense-inspect-failed'));
afterAll(() => stopStudio(studio ?? {}, tmp));

describe('the Attention and Latency views on DeepLabv3', () => {
  it('shows a patch\'s attention beside the class map of the same pass', async () => {
    const { page, server, problems } = studio;
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.locator('nav a[href="#/attention"]').click();
    await expect.poll(() => page.getByTestId('attention-run').locator('option').allTextContents()).toEqual(['streets — MobileViT-XXS · segmentation']);
    await page.locator('#a-size').selectOption('64');
    await page.getByTestId('image-input').setInputFiles(photo);
    const picture = page.getByTestId('attention-dense-picture');
    await picture.waitFor({ timeout: 60_000 });
    expect(await picture.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([64, 64]);
    const legend = await page.getByTestId('attention-classes').locator('li').allTextContents();
    expect(legend.length).toBeGreaterThan(0);
    expect(legend.every((l) => /^(background|road|car)\d+(\.\d)?%$/.test(l.replace(/\s+/g, ''))), legend.join(' | ')).toBe(true);
    expect(await page.locator('[data-testid="attention-grid"] button').count()).toBe(16); // block 0: 4 × 4 patches at 64 px
    expect(await page.getByTestId('top5').count()).toBe(0);
    await screenshot(page, 'dense-attention');
    expect(problems).toEqual([]);
  }, 90_000);

  it('profiles DeepLabv3: the ASPP and the classifier labelled, the ASPP expanding into its branches and projection', async () => {
    const { page, problems } = studio;
    await page.locator('nav a[href="#/latency"]').click();
    await page.getByTestId('latency-variant').selectOption('deeplabv3_mobilevit_xxs');
    await page.getByTestId('latency-size').selectOption('64');
    await page.locator('#l-runs').fill('1');
    await page.getByRole('checkbox', { name: 'MobileNetV2 beside it' }).uncheck();
    await page.getByTestId('latency-start').click();
    const table = page.getByTestId('latency-table');
    await table.waitFor({ timeout: 90_000 });
    expect(await table.getByTestId('block-label').allTextContents()).toEqual(['ASPP: four conv branches, image pooling, projection', 'Classifier (1×1)']);
    await table.getByRole('button', { name: /segmentation_head\.aspp/ }).click();
    expect((await table.locator('tr.part td:first-child').allTextContents()).map((t) => t.replace('└', '').trim()))
      .toEqual(['1×1', '3×3 rate 6', '3×3 rate 12', '3×3 rate 18', 'image pooling', 'projection']);
    // onnxruntime's path says it does not profile a dense network; TF.js's is drawn.
    expect(await page.getByTestId('latency-paths').innerText()).toMatch(/onnxruntime profiles classifiers only, not deeplabv3_mobilevit_xxs/);
    await screenshot(page, 'dense-latency');
    expect(problems).toEqual([]);
  }, 150_000);
});
