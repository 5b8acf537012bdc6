// The Detect view end to end in Chromium: a detection run trained by the CLI on a generated YOLO folder, then in
// the window an image dropped on the view comes back with its boxes drawn over it in the image's own pixels, a
// table of their labels and scores, and a score slider that keeps the boxes scoring at least its value.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, type StudioPage } from './harness.ts';

let tmp: string;
let data: string;
let studio: StudioPage;

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'detect-e2e-'));
  data = join(tmp, 'boxes');
  await makeDetectionDataset(data, { layout: 'yolo', count: 8, classes: 2, size: 64 });
  const trained = await runCli('train', '--data', data, '--variant', 'ssdlite_mobilevit_xxs', '--image-size', '64', '--epochs', '1', '--batch-size', '6',
    '--workspace', join(tmp, 'workspace'), '--name', 'shapes', '--backend', 'wasm');
  if (trained.code !== 0) throw new Error(`train failed: ${trained.err.join('\n')}`);
  studio = await startStudio(join(tmp, 'workspace'));
}, 300_000);

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
});
