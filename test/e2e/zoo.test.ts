// The model zoo in the Train view, end to end in Chromium against a local imitation of the Hugging Face Hub:
// "Quick" mode, the Start-from picker with cached marks, a download with progress that is cancelled, one that
// completes, and a quick (head-only) run from the downloaded weights that finishes.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import sharp from 'sharp';
import { IMAGENET_CLASSES } from '../../src/zoo/labels.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture } from '../helpers/fixtures.ts';
import { ensureRendererBuilt, launchChromium, screenshot, watchPage } from './harness.ts';

const WEIGHTS = readFileSync(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
let tmp: string;
let hub: FakeHub;
let server: RunningServer;
let browser: Browser;
let page: Page;
let problems: string[];
const saved = process.env.HF_ENDPOINT;

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'zoo-e2e-'));
  await makeDataset(join(tmp, 'data'), { classes: 3, perClass: 10, size: 40, seed: 4 });
  hub = await new FakeHub().start();
  hub.add('timm/mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors', { body: WEIGHTS });
  hub.add('timm/mobilevit_xs.cvnets_in1k', 'main', 'model.safetensors', { body: Buffer.concat([WEIGHTS, WEIGHTS, WEIGHTS]), mode: 'slow' });
  process.env.HF_ENDPOINT = hub.endpoint; // the service downloads in this process
  server = await startServer({ port: 0, workspace: join(tmp, 'ws'), log: () => {} });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  problems = watchPage(page);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.stop();
  if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('Start from the zoo', () => {
  it('offers Quick / Fine-tune all / From scratch and lists the zoo with sizes', async () => {
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.getByTestId('dataset-path').fill(join(tmp, 'data'));
    await page.getByTestId('dataset-path').press('Enter');
    await page.locator('nav a[href="#/train"]').click();
    expect(await page.getByTestId('train-lr').inputValue()).toBe('0.002');
    expect(await page.getByTestId('quick-solver-note').count()).toBe(0);
    await page.getByTestId('start-quick').check();
    expect(await page.getByTestId('train-lr').inputValue()).toBe('0.01'); // a lone head wants a larger rate (with --lr / steps)
    // By default Quick solves the classifier instead of stepping it, and says which fields it does not use.
    expect(await page.getByTestId('quick-solver-note').innerText()).toMatch(/solves the new classifier to its optimum.*learning rate, epochs, warm-up and weight decay below are not used/);
    const options = await page.getByTestId('start-from').locator('option').allInnerTexts();
    expect(options.some((o) => /MobileViT-XXS · timm\/mobilevit_xxs.cvnets_in1k .*download/.test(o))).toBe(true);
    expect(options.some((o) => /apple\/mobilevit-small/.test(o))).toBe(true);
  });

  it('shows download progress and cancels', async () => {
    await page.getByTestId('start-from').selectOption('mobilevit_xs');
    await page.getByTestId('zoo-download').click();
    const progress = page.getByTestId('zoo-progress');
    await progress.filter({ hasText: /MB\/s/ }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'zoo-01-downloading');
    await page.getByTestId('zoo-cancel').click();
    await page.locator('main [role="alert"]').filter({ hasText: /cancelled/ }).waitFor({ timeout: 20_000 });
  });

  it('downloads a model, marks it cached, and trains a quick head-only run from it', async () => {
    await page.getByTestId('start-from').selectOption('mobilevit_xxs');
    await page.getByTestId('zoo-download').click();
    await page.getByTestId('zoo-ready').waitFor({ timeout: 30_000 });
    const options = await page.getByTestId('start-from').locator('option').allInnerTexts();
    expect(options.find((o) => o.includes('mobilevit_xxs.cvnets_in1k'))).toMatch(/✓ cached/);
    await page.getByTestId('train-size').fill('32');
    await page.getByTestId('train-epochs').fill('4');
    await page.getByTestId('train-batch').fill('8');
    await screenshot(page, 'zoo-02-ready');
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-status').filter({ hasText: 'Finished' }).waitFor({ timeout: 240_000 });
    await screenshot(page, 'zoo-03-quick-run');
  }, 300_000);

  it('opens the zoo model in the Attention view: top-5 with ImageNet class names', async () => {
    await page.locator('nav a[href="#/attention"]').click();
    await page.getByRole('radio', { name: 'A variant + weights' }).click();
    await page.getByTestId('attention-zoo').selectOption('mobilevit_xxs');
    await page.locator('#a-size').selectOption('128');
    const image = join(tmp, 'query.png');
    await sharp({ create: { width: 160, height: 140, channels: 3, background: { r: 40, g: 120, b: 200 } } }).png().toFile(image);
    await page.getByTestId('image-input').setInputFiles(image);
    await page.locator('[data-testid="patch-picker"] svg rect').first().waitFor({ timeout: 120_000 });
    const labels = await page.getByTestId('top5').locator('li').allInnerTexts();
    expect(labels).toHaveLength(5);
    const names = new Set(IMAGENET_CLASSES);
    // Each line names an ImageNet class (the fixture's weights are random, so which ones does not matter).
    for (const l of labels) expect([...names].some((n) => l.includes(n)), l).toBe(true);
    await screenshot(page, 'zoo-04-attention');
  }, 180_000);

  it('opens a zoo model in the Latency view as its variant', async () => {
    await page.locator('nav a[href="#/latency"]').click();
    await page.getByTestId('latency-variant').selectOption('mobilenet_v2');
    const zooOption = await page.getByTestId('latency-zoo').locator('option', { hasText: 'mobilevit_xxs' }).first().getAttribute('value');
    await page.getByTestId('latency-zoo').selectOption(zooOption!);
    expect(await page.getByTestId('latency-variant').inputValue()).toBe('mobilevit_xxs');
  });

  it('raised no page errors', () => {
    expect(problems).toEqual([]);
  });
});
