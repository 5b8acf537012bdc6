// The Detect view end to end in Chromium: a detection run trained by the CLI on a generated YOLO folder, then in
// the window an image dropped on the view comes back with its boxes drawn over it in the image's own pixels, a
// table of their labels and scores, and a score slider that keeps the boxes scoring at least its value. Evaluating
// the run there shows COCO's scores with the per-class AP table, the precision–recall chart and the images with the
// most misses; one opened draws its ground-truth boxes beside the predicted ones. With DOCS_SCREENSHOTS=1 (not in
// CI) that view is also written as assets/screenshots/detect-view.png for the README.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { drawDetectionSample, makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { docsScreenshot, ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, type StudioPage } from './harness.ts';

let tmp: string;
let data: string;
let studio: StudioPage;

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'detect-e2e-'));
  data = join(tmp, 'boxes');
  // For the README's picture a run that has learned something (detection-run.test.ts's learning check: AP50 ~0.8);
  // for the test, one short epoch.
  const learned = process.env.DOCS_SCREENSHOTS ? ['--epochs', '30', '--batch-size', '8', '--lr', '0.01', '--seed', '1'] : ['--epochs', '1', '--batch-size', '6'];
  await makeDetectionDataset(data, { layout: 'yolo', count: process.env.DOCS_SCREENSHOTS ? 24 : 8, classes: 2, size: 64 });
  const trained = await runCli('train', '--data', data, '--variant', 'ssdlite_mobilevit_xxs', '--image-size', '64', ...learned,
    '--workspace', join(tmp, 'workspace'), '--name', 'shapes', '--backend', 'wasm');
  if (trained.code !== 0) throw new Error(`train failed: ${trained.err.join('\n')}`);
  studio = await startStudio(join(tmp, 'workspace'));
}, 300_000);

/** The score the evaluation counted misses at, from the most-missed card's subtitle ("At score 30 %: …"). */
const missedAt = (subtitle: string) => Number(subtitle.match(/^At score (\d+) %/)![1]) / 100;

afterEach((ctx) => shotIfFailed(studio?.page, ctx.task, 'detect-failed'));
afterAll(() => stopStudio(studio ?? {}, tmp));

describe('the Detect view', () => {
  it('draws a detection run\'s boxes over a dropped image, lists them, and the score slider filters them', async () => {
    const { page, server, problems } = studio;
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.locator('nav a[href="#/detect"]').click();
    await expect.poll(() => page.getByTestId('detect-run').locator('option').allTextContents()).toEqual(['shapes — MobileViT-XXS']);
    await page.locator('input[type="file"]').first().setInputFiles(join(data, 'images', 'val', 'img_003.png'));
    const svg = page.getByTestId('detect-boxes');
    await svg.waitFor({ timeout: 120_000 });
    expect(await svg.getAttribute('viewBox')).toBe('0 0 64 64'); // the image's own pixels
    // At the lowest score every box the studio returned is shown; each row is a box within the image.
    await page.getByTestId('detect-threshold').fill('0.05');
    const total = Number((await page.getByTestId('detect-count').textContent())!.match(/of (\d+) boxes/)![1]);
    expect(await page.locator('[data-testid="detect-boxes"] rect').count()).toBe(total);
    for (const row of await page.locator('[data-testid="detect-table"] tbody tr').allTextContents()) {
      const [x0, y0, x1, y1] = row.match(/(-?\d+), (-?\d+), (-?\d+), (-?\d+)$/)!.slice(1).map(Number);
      expect(0 <= x0 && x0 <= x1 && x1 <= 64 && 0 <= y0 && y0 <= y1 && y1 <= 64, row).toBe(true);
    }
    // At the highest, only boxes scoring at least 95 % remain (an untrained detector has none or few).
    await page.getByTestId('detect-threshold').fill('0.95');
    const scores = await page.locator('[data-testid="detect-table"] tbody td:nth-child(2)').allTextContents();
    expect(scores.every((s) => parseFloat(s) >= 95)).toBe(true);
    expect(await page.locator('[data-testid="detect-boxes"] rect').count()).toBe(scores.length);
    await page.getByTestId('detect-threshold').fill('0.05');
    await screenshot(page, 'detect');
    expect(problems).toEqual([]);
  }, 180_000);

  it('evaluates the run: the AP table, the precision-recall chart, and an image with misses opening with its ground truth', async () => {
    const { page, problems } = studio;
    // Before: the validation the run's training recorded, one AP row per class.
    await page.getByTestId('detect-recorded-note').waitFor({ timeout: 30_000 });
    await page.getByTestId('detect-evaluate').click();
    await page.getByTestId('pr-card').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('detect-recorded-note').count()).toBe(0);
    const panel = page.getByTestId('eval-task-scores');
    for (const id of ['score-map', 'score-ap50', 'score-ap75']) expect(await panel.getByTestId(id).innerText()).toMatch(/\d+\.\d %/);
    expect(await panel.getByTestId('score-ap-small').count()).toBe(1);
    expect(await panel.locator('[data-testid="per-class-scores"] tbody th').allInnerTexts()).toEqual(['red', 'green']);
    // A curve of 101 recall points for each class with boxes (both have some in the validation images).
    expect(Number(await page.getByTestId('pr-chart').getAttribute('data-points'))).toBe(2 * 101);
    // An untrained detector misses: the list is there, each image its counts; open the first.
    const missed = page.getByTestId('most-missed').getByTestId('open-worst');
    expect(await missed.count()).toBeGreaterThan(0);
    expect((await page.locator('[data-testid="most-missed"] .score').first().innerText()).trim()).toMatch(/^\d+ missed, \d+ FP$/);
    const file = (await page.locator('[data-testid="most-missed"] .caption .faint').first().innerText()).trim();
    await missed.first().click();
    await expect.poll(() => page.getByTestId('detect-result').locator('h2').innerText()).toContain(file);
    await page.getByTestId('truth-box').first().waitFor({ timeout: 60_000 });
    // Its boxes as drawn into the image (img_NNN.png is sample NNN), dashed beside the predicted ones; the toggle hides them.
    const want = drawDetectionSample(Number(file.match(/img_(\d+)/)![1]), 2, 64).boxes.length;
    expect(await page.getByTestId('truth-box').count()).toBe(want);
    expect(await page.locator('[data-testid="most-missed"] li.selected').count()).toBe(1);
    // It opens at the score its misses were counted at, so the boxes drawn are the ones they count.
    expect(Number(await page.getByTestId('detect-threshold').inputValue())).toBeCloseTo(missedAt(await page.getByTestId('most-missed').locator('header p').innerText()), 6);
    await screenshot(page, 'detect-evaluated');
    await docsScreenshot(page, 'detect-view');
    await page.getByTestId('detect-show-truth').uncheck();
    expect(await page.getByTestId('truth-box').count()).toBe(0);
    await page.getByTestId('detect-show-truth').check();
    expect(problems).toEqual([]);
  }, 180_000);

  it('the Evaluate view shows the Detect view\'s evaluation, evaluates again, and an image with misses opens in the Detect view at the score they were counted at', async () => {
    const { page, problems } = studio;
    // The slider moved off the score the misses are counted at: an image opened from the list comes back to it.
    await page.getByTestId('detect-threshold').fill('0.05');
    await page.locator('nav a[href="#/evaluate"]').click();
    // The Detect view's evaluation is the window's one: shown here already, with its curves; evaluated again here.
    await page.getByTestId('eval-task-scores').waitFor();
    expect(await page.getByTestId('pr-card').count()).toBe(1);
    expect(await page.getByTestId('eval-dense-note').count()).toBe(0);
    await page.getByTestId('eval-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="eval-start"]')?.textContent?.trim() === 'Evaluating…');
    await page.waitForFunction(() => document.querySelector('[data-testid="eval-start"]')?.textContent?.trim() === 'Evaluate', undefined, { timeout: 120_000 });
    expect(await page.getByTestId('eval-task-scores').getByTestId('score-ap-large').count()).toBe(1);
    expect(await page.locator('[data-testid="eval-task-scores"] [data-testid="per-class-scores"] tbody tr').count()).toBe(2);
    const file = (await page.locator('[data-testid="most-missed"] .caption .faint').last().innerText()).trim();
    const missScore = missedAt(await page.getByTestId('most-missed').locator('header p').innerText());
    await page.getByTestId('most-missed').getByTestId('open-worst').last().click();
    await expect.poll(() => page.getByTestId('detect-result').locator('h2').innerText()).toContain(file);
    await page.getByTestId('truth-box').first().waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('truth-box').count()).toBe(drawDetectionSample(Number(file.match(/img_(\d+)/)![1]), 2, 64).boxes.length);
    expect(Number(await page.getByTestId('detect-threshold').inputValue())).toBeCloseTo(missScore, 6);
    expect(problems).toEqual([]);
  }, 120_000);
});

