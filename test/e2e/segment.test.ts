// The Segment view end to end in Chromium: a segmentation run trained by the CLI on a generated images-and-masks
// folder, then in the window an image dropped on the view comes back with its predicted classes over it (the
// class map at the image's own size), the legend with their shares, and an opacity slider that fades the map;
// its mask dropped too shows the ground truth beside it and the prediction's scores, and the view finds the run's
// worst validation images. The Evaluate view then runs the run's checkpoint over its validation images again (mIoU, accuracies, per-class IoU, the pixel confusion and the
// worst images), and a worst image opens in the Segment view with its mask and per-class IoU. With
// DOCS_SCREENSHOTS=1 (not in CI) the run learns longer and that view is written as assets/screenshots/segment-view.png.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { docsScreenshot, ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, type StudioPage } from './harness.ts';

let tmp: string;
let data: string;
let studio: StudioPage;

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'segment-e2e-'));
  data = join(tmp, 'masks');
  // For the README's picture a run that has learned something (segmentation-run.test.ts's learning check); for the test, one short epoch.
  const docs = Boolean(process.env.DOCS_SCREENSHOTS);
  await makeSegmentationDataset(data, { layout: 'images-masks', count: docs ? 24 : 6, classes: 3, size: 40, labels: true });
  const learned = docs ? ['--epochs', '24', '--batch-size', '4', '--lr', '0.004', '--warmup-epochs', '1', '--seed', '1'] : ['--epochs', '1', '--batch-size', '6'];
  const trained = await runCli('train', '--data', data, '--variant', 'deeplabv3_mobilevit_xxs', '--image-size', '64', ...learned,
    '--workspace', join(tmp, 'workspace'), '--name', 'leaves', '--backend', 'wasm');
  if (trained.code !== 0) throw new Error(`train failed: ${trained.err.join('\n')}`);
  studio = await startStudio(join(tmp, 'workspace'));
}, 300_000);

afterEach((ctx) => shotIfFailed(studio?.page, ctx.task, 'segment-failed'));
afterAll(() => stopStudio(studio ?? {}, tmp));

describe('the Segment view', () => {
  it('shows a segmentation run\'s classes over a dropped image, with the legend, an opacity slider and the ground truth', async () => {
    const { page, server, problems } = studio;
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.locator('nav a[href="#/segment"]').click();
    await expect.poll(() => page.getByTestId('segment-run').locator('option').allTextContents()).toEqual(['leaves — MobileViT-XXS']);
    await page.locator('input[type="file"]').first().setInputFiles(join(data, 'images', 'img_001.png'));
    const map = page.getByTestId('segment-map');
    await map.waitFor({ timeout: 120_000 });
    // The class map is a PNG at the image's own size (40 × 40), not the network's 64 px.
    expect(await map.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([40, 40]);
    const legend = await page.getByTestId('segment-legend').locator('li').allTextContents();
    expect(legend.length).toBeGreaterThan(0);
    expect(legend.every((l) => /^(background|shape1|shape2) \d+(\.\d)? %$/.test(l.trim().replace(/\s+/g, ' '))), legend.join(' | ')).toBe(true);
    await page.getByTestId('segment-opacity').fill('0');
    expect(await map.evaluate((img: HTMLElement) => getComputedStyle(img).opacity)).toBe('0');
    await page.getByTestId('segment-opacity').fill('0.6');
    // Its mask from the dataset: the ground truth beside the prediction, scored against it.
    await page.locator('.truth input[type="file"]').setInputFiles(join(data, 'masks', 'img_001.png'));
    const truth = page.getByTestId('segment-truth');
    await truth.waitFor({ timeout: 60_000 });
    expect(await truth.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([40, 40]);
    expect(await page.getByTestId('segment-scores').textContent()).toMatch(/Against img_001\.png: mIoU \d+(\.\d)? %, pixel accuracy \d+(\.\d)? %/);
    await screenshot(page, 'segment');
    // The run's worst validation images, found from here: its best checkpoint evaluated.
    await page.getByTestId('segment-find-worst').click();
    await page.getByTestId('segment-worst').getByTestId('open-worst').first().waitFor({ timeout: 120_000 });
    expect(problems).toEqual([]);
  }, 180_000);

  it('evaluates the run again from the Evaluate view, and opens its worst image in the Segment view', async () => {
    const { page, problems } = studio;
    await page.locator('nav a[href="#/evaluate"]').click();
    await page.getByTestId('pixel-confusion-card').waitFor(); // the Segment view's evaluation, shared
    const start = page.getByTestId('eval-start');
    await start.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="eval-start"]')?.textContent?.trim() === 'Evaluating…');
    await page.waitForFunction(() => document.querySelector('[data-testid="eval-start"]')?.textContent?.trim() === 'Evaluate', undefined, { timeout: 120_000 });
    const panel = page.getByTestId('eval-task-scores');
    expect(await page.getByTestId('eval-dense-note').count()).toBe(0);
    for (const id of ['score-miou', 'score-pixel-accuracy', 'score-mean-class-accuracy']) expect(await panel.getByTestId(id).innerText()).toMatch(/\d+\.\d %/);
    expect(await panel.locator('[data-testid="per-class-scores"] tbody tr').count()).toBe(3);
    // The pixel confusion: 3 × 3 counts of labelled pixels, every validation pixel (at the run's 64 px, none ignored) once.
    const cells = await page.locator('[data-testid="pixel-confusion-card"] tbody td').allInnerTexts();
    expect(cells).toHaveLength(9);
    await screenshot(page, 'segment-evaluate');
    const worst = page.getByTestId('worst-images').getByTestId('open-worst');
    const shown = await worst.count();
    expect(shown).toBeGreaterThan(0);
    expect(cells.reduce((a, c) => a + Number(c), 0)).toBe(shown * 64 * 64);
    expect((await page.locator('[data-testid="worst-images"] .score').first().innerText()).trim()).toMatch(/^mIoU \d+\.\d %$/);
    const file = (await page.locator('[data-testid="worst-images"] .caption .faint').first().innerText()).trim();

    await worst.first().click();
    await page.getByTestId('segment-truth').waitFor({ timeout: 60_000 });
    await page.getByTestId('segment-map').waitFor();
    // Scored against its own mask (at the image's own size), with the per-class IoU table; the list stays, this one marked.
    const scores = (await page.getByTestId('segment-scores').textContent())!;
    expect(scores).toMatch(new RegExp(`Against ${file.replace('.', '\\.')}: mIoU \\d+(\\.\\d)? %`));
    // The table is the evaluations' one, in the class map's colours: its IoUs (0.1 % each) average to the mIoU, and the legend keeps to the shares.
    const table = page.getByTestId('segment-result').getByTestId('per-class-scores');
    expect(await table.locator('tbody tr').count()).toBe(3);
    expect(await table.locator('.swatch').count()).toBe(3);
    const ious = (await table.locator('tbody td').allInnerTexts()).filter((t) => t !== 'n/a').map(parseFloat);
    expect(Math.abs(ious.reduce((a, b) => a + b, 0) / ious.length - parseFloat(scores.match(/mIoU (\d+(\.\d)?) %/)![1]))).toBeLessThanOrEqual(0.1 + 1e-9);
    expect((await page.getByTestId('segment-legend').locator('li').allInnerTexts()).every((l) => !l.includes('IoU'))).toBe(true);
    expect(await page.getByTestId('segment-worst').getByTestId('open-worst').count()).toBe(shown);
    expect(await page.locator('[data-testid="segment-worst"] li.selected').count()).toBe(1);
    await screenshot(page, 'segment-worst');
    await docsScreenshot(page, 'segment-view');
    expect(problems).toEqual([]);
  }, 180_000);
});
