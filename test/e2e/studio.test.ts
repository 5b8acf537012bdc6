// The studio end to end, as a person uses it: the browser mode server with the built renderer, driven in
// Debian's Chromium. Open a generated dataset, train MobileViT-XXS for 2 epochs at 32 px and watch the
// loss chart fill, evaluate, click a patch and get an attention heatmap, profile the blocks. Every view is
// screenshotted to test/artifacts/ and checked to be more than a blank page. The steps share one browser
// and one workspace, in order: each builds on the one before.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { drawClassImage, encode, makeDataset, type GeneratedDataset } from '../helpers/dataset.ts';
import { dataUrlStdev, ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, viewOutcome } from './harness.ts';

// A page with real content (text, cards, charts) has a pixel standard deviation well above this;
// a blank page is 0 and a page that failed to render is a few units.
const NOT_BLANK = 12;

let tmp: string;
let data: GeneratedDataset;
let server: RunningServer;
let browser: Browser;
let page: Page;
let problems: string[];

const nav = (view: string) => page.locator(`nav a[href="#/${view}"]`).click();
const attr = async (testid: string, name: string) => Number(await page.getByTestId(testid).getAttribute(name));

const outcome = (selector: string, timeout: number) => viewOutcome(page, selector, timeout);

async function shot(name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky sidebar is drawn where the page is scrolled
  const stdev = await screenshot(page, name);
  expect(stdev, `${name}.png looks blank`).toBeGreaterThan(NOT_BLANK);
}

// CI trains 2 epochs; the README's screenshots come from a longer run (E2E_EPOCHS=15) that has learned.
const EPOCHS = Number(process.env.E2E_EPOCHS ?? 2);

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'studio-e2e-'));
  data = await makeDataset(join(tmp, 'shapes'), {
    // Named after the shapes the generator draws for class indices 0..4 (names sorted).
    classes: ['circle', 'square', 'stripes', 'stripes_vertical', 'tilted_square'],
    perClass: 14,
    size: 48,
    corrupt: true,
    seed: 3,
  });
  ({ server, browser, page, problems } = await startStudio(join(tmp, 'workspace')));
}, 180_000);

afterEach((ctx) => shotIfFailed(page, ctx.task, 'failed'));

afterAll(() => stopStudio({ browser, server }, tmp));

describe('studio in the browser', () => {
  it('opens with its session token and connects', async () => {
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.getByTestId('dataset-empty').waitFor();
    await shot('00-start');
  });

  it('opens a generated dataset: class counts, thumbnails, skipped files', async () => {
    await page.getByTestId('dataset-path').fill(data.root);
    await page.getByTestId('dataset-path').press('Enter');
    await outcome('[data-testid="class-counts"] [data-bars]:not([data-bars="0"])', 30_000);
    expect(await page.locator('[data-testid="skipped"] tbody tr').count()).toBe(data.skipped.length);
    await page.locator('[data-testid="thumbnails"] img').first().waitFor();
    expect(await page.locator('[data-testid="thumbnails"] img').count()).toBeGreaterThan(10);
    await shot('01-dataset');
  });

  it(`trains XXS for ${EPOCHS} epochs at 32 px with points on the loss chart`, async () => {
    await nav('train');
    await page.getByTestId('train-variant').selectOption('mobilevit_xxs');
    await page.getByTestId('train-size').fill('32');
    await page.getByTestId('train-epochs').fill(String(EPOCHS));
    await page.getByTestId('train-batch').fill('8');
    await page.getByTestId('train-start').click();
    await outcome('[data-testid="loss-chart"]:not([data-points="0"])', 120_000);
    await page.getByTestId('train-status').filter({ hasText: 'Finished' }).waitFor({ timeout: 300_000 });
    expect(await attr('loss-chart', 'data-points')).toBeGreaterThan(2);
    expect(await attr('accuracy-chart', 'data-points')).toBeGreaterThanOrEqual(2 * EPOCHS); // train + val per epoch
    await shot('02-train');
  }, 420_000);

  it('pauses, resumes, survives a reload and stops a second run', async () => {
    const status = page.getByTestId('train-status');
    await page.getByTestId('train-epochs').fill('4');
    await page.getByTestId('train-start').click();
    await status.filter({ hasText: 'Training' }).waitFor({ timeout: 60_000 });
    // Pause once a few steps are done (the series was cleared when this run started).
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >= 3, null, { timeout: 120_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await status.filter({ hasText: 'Paused' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Resume' }).click();
    await outcome('[data-testid="train-status"]:text-is("Training")', 60_000);
    // A reloaded window picks the training run up again and replays its curves.
    await page.reload();
    await page.locator('.conn[data-state="connected"]').waitFor();
    await outcome('[data-testid="train-status"]:text-is("Training")', 30_000);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >= 3);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="accuracy-chart"]')?.getAttribute('data-points')) >= 2, null, { timeout: 120_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
    await status.filter({ hasText: 'Stopped' }).waitFor({ timeout: 60_000 });
  }, 300_000);

  it('lists the runs, renames one and overlays their curves', async () => {
    await nav('runs');
    const rows = page.getByTestId('run-row');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    // Overlay both runs (check() leaves a ticked box ticked).
    const first = rows.nth(1); // newest first
    await rows.nth(0).getByRole('checkbox').check();
    await first.getByRole('checkbox').check();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="runs-acc-chart"]').length > 0 &&
      Number(document.querySelector('[data-testid="runs-acc-chart"]')?.getAttribute('data-points')) >= 3);
    await first.getByRole('button', { name: /^Rename/ }).click();
    await first.getByRole('textbox', { name: 'New name' }).fill('XXS at 32 px');
    await first.getByRole('textbox', { name: 'New name' }).press('Enter');
    await first.getByRole('button', { name: 'XXS at 32 px', exact: true }).waitFor();
    await shot('03-runs');
  });

  it('evaluates the run: confusion matrix and accuracy', async () => {
    await nav('evaluate');
    await page.getByTestId('eval-run').selectOption({ label: `XXS at 32 px — MobileViT-XXS, ${EPOCHS} epochs` });
    await page.getByTestId('eval-start').click();
    await outcome('[data-testid="confusion"]', 120_000);
    expect(await page.locator('[data-testid="confusion"] tbody tr').count()).toBe(data.classes.length);
    expect(await page.getByTestId('eval-top1').innerText()).toMatch(/\d+\.\d %/);
    await shot('04-evaluate');
  }, 180_000);

  it('shows the attention of a clicked patch as a heatmap', async () => {
    await nav('attention');
    await page.getByTestId('attention-run').selectOption({ label: 'XXS at 32 px — MobileViT-XXS' });
    await page.locator('#a-size').selectOption('128');
    const image = join(tmp, 'query.png');
    await writeFile(image, await encode(drawClassImage(0, data.classes.length, 128, 7), 128, 128, 'png'));
    await page.getByTestId('image-input').setInputFiles(image);
    const picker = page.getByTestId('patch-picker');
    await outcome('[data-testid="patch-picker"] svg rect', 120_000); // the grid and the selected patch
    expect(await page.getByTestId('top5').locator('li').count()).toBe(data.classes.length); // 5 classes: top-5 lists all
    const first = await picker.getByTestId('overlay').getAttribute('src');
    const box = (await picker.boundingBox())!;
    await picker.click({ position: { x: box.width * 0.15, y: box.height * 0.2 } });
    await page.waitForFunction((prev) => {
      const src = document.querySelector('[data-testid="patch-picker"] [data-testid="overlay"]')?.getAttribute('src');
      return !!src && src !== prev && !document.querySelector('[data-testid="patch-picker"].loading');
    }, first, { timeout: 60_000 });
    const heatmap = (await picker.getByTestId('overlay').getAttribute('src'))!;
    expect(heatmap.startsWith('data:image/')).toBe(true);
    expect(await dataUrlStdev(heatmap)).toBeGreaterThan(5);
    expect(await page.locator('[data-testid="attention-grid"] button').count()).toBe(64); // 8 × 8 patches at 128 px
    // The keyboard moves the query patch too.
    const before = await picker.getAttribute('aria-label');
    await picker.press('ArrowRight');
    await page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid="patch-picker"]');
      return !!el && el.getAttribute('aria-label') !== prev && !el.classList.contains('loading');
    }, before);
    expect(await picker.getAttribute('aria-label')).toMatch(/row 1, column 2/);
    await shot('05-attention');
  }, 180_000);

  it('computes the effective receptive field after each block', async () => {
    await page.getByTestId('erf-start').click();
    await outcome('[data-testid="erf"] ul img', 240_000);
    await shot('06-receptive-field');
  }, 300_000);

  it('profiles the blocks and draws the latency bars beside MobileNetV2', async () => {
    await nav('latency');
    await page.getByTestId('latency-size').selectOption('64');
    await page.locator('#l-runs').fill('3');
    await page.getByTestId('latency-start').click();
    await outcome('[data-testid="baseline-bars"]:not([data-bars="0"])', 240_000);
    expect(await attr('latency-bars', 'data-bars')).toBeGreaterThan(10);
    expect(await page.getByTestId('latency-total').innerText()).toMatch(/\d ms/);
    await shot('07-latency');
  }, 300_000);

  it('times every inference path side by side, draws the fastest and names its runtime and device (issue 24 item 2)', async () => {
    const paths = page.getByTestId('latency-paths');
    // This engine computes in its own process: TF.js there and onnxruntime, each timed.
    expect(await paths.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')))).toEqual(['in-process', 'onnxruntime']);
    const times = (await paths.getByTestId('path-ms').allInnerTexts()).map((t) => Number.parseFloat(t) * (t.endsWith(' s') ? 1000 : 1));
    expect(times.every((t) => t > 0)).toBe(true);
    const fastest = times[0] <= times[1] ? 'in-process' : 'onnxruntime';
    expect(await paths.locator('tr.shown').getAttribute('data-path')).toBe(fastest);
    expect(await paths.locator(`tr[data-path="${fastest}"]`).innerText()).toContain('fastest');
    const card = page.getByTestId('latency-bars-card');
    expect(await card.innerText()).toMatch(fastest === 'onnxruntime' ? /onnxruntime on the ONNX export · onnxruntime/ : /TF\.js in the engine process · \w+/);
    // The other path on demand, MobileNetV2 timed on it too.
    const other = fastest === 'onnxruntime' ? 'in-process' : 'onnxruntime';
    await paths.locator(`tr[data-path="${other}"]`).getByRole('button', { name: 'Show' }).click();
    await page.waitForFunction((o) => document.querySelector('[data-testid="latency-paths"] tr.shown')?.getAttribute('data-path') === o, other);
    await outcome('[data-testid="baseline-bars"]:not([data-bars="0"])', 120_000);
    expect(await card.innerText()).toMatch(other === 'onnxruntime' ? /onnxruntime/ : /TF\.js in the engine process/);
    expect(await attr('latency-bars', 'data-bars')).toBeGreaterThan(10);
  }, 180_000);

  it('shows the settings', async () => {
    await nav('settings');
    await page.waitForFunction((ws) => (document.querySelector('[data-testid="settings-workspace"]') as HTMLInputElement | null)?.value === ws, join(tmp, 'workspace'));
    await shot('08-settings');
  });

  it('renders in the dark scheme too', async () => {
    // Relative luminance of the page's background and text, as the browser computes them.
    const luminance = () => page.evaluate(() => {
      const lum = (css: string) => {
        const [r, g, b] = (css.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => Number(v) / 255);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const style = getComputedStyle(document.body);
      return { background: lum(style.backgroundColor), text: lum(style.color) };
    });
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await luminance();
    await page.emulateMedia({ colorScheme: 'dark' });
    await nav('train');
    await page.getByTestId('loss-chart').waitFor();
    const dark = await luminance();
    expect(light.background).toBeGreaterThan(0.7);
    expect(dark.background).toBeLessThan(0.3);
    expect(dark.text).toBeGreaterThan(dark.background + 0.4); // light text on the dark background
    await shot('09-train-dark');
  });

  it('exports a run as ONNX from the Runs view', async () => {
    await nav('runs');
    await page.getByRole('button', { name: 'Export XXS at 32 px' }).click();
    const panel = page.getByTestId('export-run');
    await panel.getByRole('combobox', { name: 'Export format' }).selectOption('onnx');
    await panel.getByRole('combobox', { name: 'Checkpoint' }).selectOption('last');
    await panel.getByRole('button', { name: 'Export', exact: true }).click();
    await outcome('[data-testid="export-result"]', 120_000);
    expect(await page.getByTestId('export-result').innerText()).toMatch(/exports\/.*-last-32px\.onnx/);
    await panel.getByRole('combobox', { name: 'Export format' }).selectOption('timm-recipe');
    await panel.getByRole('button', { name: 'Export', exact: true }).click();
    await page.waitForFunction(() => /python train\.py -c/.test(document.querySelector('[data-testid="export-result"]')?.textContent ?? ''));
  }, 180_000);

  it('deletes a run after asking', async () => {
    await nav('runs');
    const rows = page.getByTestId('run-row');
    await rows.first().waitFor();
    await page.getByRole('button', { name: 'Delete XXS at 32 px' }).click();
    await page.getByTestId('confirm').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    expect(await page.getByRole('button', { name: 'XXS at 32 px', exact: true }).count()).toBe(0);
  });

  it('raised no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
