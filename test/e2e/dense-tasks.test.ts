// Segmentation and detection in the window, end to end in Chromium: a generated folder of images and masks (64 px)
// is opened and said to be a segmentation dataset, the Train view takes the task from it and offers DeepLabv3, one
// short epoch of DeepLabv3-MobileViT-XXS trains, and the Runs view shows the run's mIoU in its row and its
// per-class IoU in its details. A YOLO folder then reads as detection: SSDLite networks, no RandAugment, and a
// task the user picks stays. Screenshots go to test/artifacts/ as the other end-to-end tests' do.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, viewOutcome, type StudioPage } from './harness.ts';

const NOT_BLANK = 12;
let tmp: string;
let data: string;
let boxes: string;
let studio: StudioPage;
let page: Page;

const nav = (view: string) => page.locator(`nav a[href="#/${view}"]`).click();

async function shot(name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  expect(await screenshot(page, name), `${name}.png looks blank`).toBeGreaterThan(NOT_BLANK);
}

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'seg-e2e-'));
  data = join(tmp, 'shapes-seg');
  await makeSegmentationDataset(data, { layout: 'images-masks', count: 8, classes: 3, size: 64, labels: true });
  boxes = join(tmp, 'shapes-yolo');
  await makeDetectionDataset(boxes, { layout: 'yolo', count: 8, classes: 2, size: 64 });
  studio = await startStudio(join(tmp, 'workspace'));
  page = studio.page;
}, 180_000);

afterEach((ctx) => shotIfFailed(page, ctx.task, 'failed-seg'));

afterAll(() => stopStudio(studio, tmp));

describe('segmentation and detection in the window', () => {
  it('says the folder is a segmentation dataset, with each class\'s pixel share', async () => {
    await page.goto(studio.server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.getByTestId('dataset-path').fill(data);
    await page.getByTestId('dataset-path').press('Enter');
    await viewOutcome(page, '[data-testid="dataset-kind"][data-task="segmentation"]', 60_000);
    expect(await page.getByTestId('dataset-kind').innerText()).toMatch(/^Segmentation dataset/);
    expect(await page.locator('[data-testid="pixel-share"] tbody tr').count()).toBe(3);
    await shot('seg-01-dataset');
  });

  it('trains one short epoch of DeepLabv3 XXS and shows its mIoU in the run\'s row', async () => {
    await nav('train');
    const task = page.getByTestId('train-task');
    await page.waitForFunction(() => (document.querySelector('[data-testid="train-task"]') as HTMLSelectElement | null)?.value === 'segmentation');
    expect(await task.locator('option:checked').innerText()).toMatch(/\(detected\)/);
    // The picker offers the task's networks: DeepLabv3 on each backbone, no classifier.
    const networks = await page.getByTestId('train-variant').locator('option').allInnerTexts();
    expect(networks.length).toBeGreaterThan(0);
    expect(networks.every((n) => n.startsWith('DeepLabv3'))).toBe(true);
    await page.getByTestId('train-variant').selectOption('deeplabv3_mobilevit_xxs');
    expect(await page.getByTestId('start-quick').count()).toBe(0); // segmentation has no Quick mode
    await page.getByTestId('train-size').fill('64');
    await page.getByTestId('train-epochs').fill('1');
    await page.getByTestId('train-batch').fill('3');
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-status').filter({ hasText: 'Finished' }).waitFor({ timeout: 300_000 });
    expect(await page.locator('.card h3, h3').filter({ hasText: 'Mean IoU' }).count()).toBe(1);
    expect(Number(await page.getByTestId('accuracy-chart').getAttribute('data-points'))).toBe(1); // one epoch's validation mIoU
    expect(await page.getByTestId('stat-val').innerText()).toMatch(/Val mIoU[\s\S]*\d+\.\d %/);
    await shot('seg-02-train');

    await nav('runs');
    const row = page.getByTestId('run-row').first();
    await row.waitFor();
    expect(await row.locator('[data-col="task"]').innerText()).toBe('segmentation');
    expect(await row.locator('[data-col="bestMiou"]').innerText()).toMatch(/^\d+\.\d %$/);
    await row.locator('td.name button.link').click();
    await page.getByTestId('run-scores').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="run-scores"] [data-testid="per-class-scores"] tbody tr').count()).toBe(3);
    await shot('seg-03-runs');

    // Evaluate shows the numbers the run recorded, with the per-class IoU, until the checkpoint is evaluated again.
    await nav('evaluate');
    await page.locator('[data-testid="eval-task-scores"] [data-testid="score-miou"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="eval-task-scores"] [data-testid="score-miou"]').innerText()).toMatch(/\d+\.\d %/);
    expect(await page.locator('[data-testid="eval-task-scores"] [data-testid="per-class-scores"] tbody tr').count()).toBe(3);
    expect(await page.getByTestId('eval-dense-note').count()).toBe(1);
    await shot('seg-04-evaluate');
    expect(studio.problems).toEqual([]);
  }, 420_000);

  it('reads a YOLO folder as detection: SSDLite networks, no RandAugment; a task picked by the user stays', async () => {
    await nav('dataset');
    await page.getByTestId('dataset-path').fill(boxes);
    await page.getByTestId('dataset-path').press('Enter');
    await viewOutcome(page, '[data-testid="dataset-kind"][data-task="detection"]', 60_000);
    await nav('train');
    const task = () => page.getByTestId('train-task').inputValue();
    await page.waitForFunction(() => (document.querySelector('[data-testid="train-task"]') as HTMLSelectElement | null)?.value === 'detection');
    const networks = await page.getByTestId('train-variant').locator('option').allInnerTexts();
    expect(networks.length).toBeGreaterThan(0);
    expect(networks.every((n) => n.startsWith('SSDLite'))).toBe(true);
    await page.locator('summary', { hasText: 'More of the recipe' }).click();
    await page.getByTestId('no-randaugment').waitFor();
    // Insisting on classification: the classifiers are offered, and reopening the folder keeps the choice.
    await page.getByTestId('train-task').selectOption('classification');
    expect((await page.getByTestId('train-variant').locator('option').allInnerTexts()).some((n) => n.startsWith('MobileViT'))).toBe(true);
    expect(await page.getByTestId('no-randaugment').count()).toBe(0);
    await nav('dataset');
    await page.getByTestId('dataset-open').click();
    await viewOutcome(page, '[data-testid="dataset-kind"][data-task="detection"]', 60_000);
    await nav('train');
    expect(await task()).toBe('classification');
    expect(studio.problems).toEqual([]);
  }, 120_000);
});
