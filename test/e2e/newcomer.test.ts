// What a newcomer expects around the studio (issue 24), in Debian's Chromium against the browser mode: the
// Train view survives a reload and opens the same in a second window; the Runs table has every setting and
// final metric as a sortable, filterable column, tags and notes kept in the run folder, and curves that
// download as CSV and PNG; a misclassified image opens in Attention with its classes, under an overlay whose
// opacity a slider sets; images dropped on the page are inspected (and hostile ones refused with a reason), and a
// dataset is picked from the workspace's folders; settings that could never train are refused before a run
// exists; offline, Quick from the zoo says what happened and what to do, and a local file imported through the
// Start-from picker takes the download's place. The steps share one browser and one workspace, in order.
// Small: 4 classes of 32-px images, runs of 1 and 2 epochs.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.ts';
import { drawClassImage, encode, makeDataset, type GeneratedDataset } from '../helpers/dataset.ts';
import { fixture } from '../helpers/fixtures.ts';
import { closedPort } from '../helpers/ports.ts';
import { ensureRendererBuilt, screenshot, shotIfFailed, startStudio, stopStudio, viewOutcome } from './harness.ts';

let tmp: string;
let data: GeneratedDataset;
let server: RunningServer;
let browser: Browser;
let page: Page;
let problems: string[];

const nav = (p: Page, view: string) => p.locator(`nav a[href="#/${view}"]`).click();

async function train(epochs: number, lr: string): Promise<void> {
  await nav(page, 'train');
  await page.getByTestId('train-variant').selectOption('mobilevit_xxs');
  await page.getByTestId('train-size').fill('32');
  await page.getByTestId('train-epochs').fill(String(epochs));
  await page.getByTestId('train-batch').fill('8');
  await page.getByTestId('train-lr').fill(lr);
  await page.getByTestId('train-start').click();
  await viewOutcome(page, '[data-testid="train-status"]:text-is("Finished")', 300_000);
}

/** The train view as it shows: folder, form, run status and how many loss points. */
async function trainViewOf(p: Page) {
  await p.locator('[data-testid="loss-chart"]:not([data-points="0"])').waitFor({ timeout: 30_000 });
  return {
    data: await p.locator('.dataset code').innerText(),
    size: await p.getByTestId('train-size').inputValue(),
    epochs: await p.getByTestId('train-epochs').inputValue(),
    batch: await p.getByTestId('train-batch').inputValue(),
    lr: await p.getByTestId('train-lr').inputValue(),
    status: await p.getByTestId('train-status').innerText(),
  };
}

/** Clicks a download button and returns the downloaded file's bytes and suggested name. */
async function downloadOf(name: string): Promise<{ file: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).click()]);
  return { file: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

/** Drops a file on `target` as a person dragging it from their desktop would: bytes given, or `size` zero bytes. */
async function drop(target: string, file: { name: string; type: string; bytes?: Buffer; size?: number }): Promise<void> {
  const dataTransfer = await page.evaluateHandle(({ name, type, b64, size }) => {
    const bytes = b64 !== null ? Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) : new Uint8Array(size);
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    return dt;
  }, { name: file.name, type: file.type, b64: file.bytes?.toString('base64') ?? null, size: file.size ?? 0 });
  await page.dispatchEvent(target, 'drop', { dataTransfer });
}

/** The run folders in the workspace: a refused start must leave none behind. */
const runFolders = () => readdir(join(tmp, 'workspace', 'runs')).catch(() => [] as string[]);

/** Opens `root` in the Dataset view and waits until the studio has counted `classes` classes. */
async function openDataset(root: string, classes: number): Promise<void> {
  await nav(page, 'dataset');
  await page.getByTestId('dataset-path').fill(root);
  await page.getByTestId('dataset-path').press('Enter');
  await page.getByTestId('dataset-stats').filter({ hasText: new RegExp(`classes\\s*${classes}\\b`, 'i') }).waitFor({ timeout: 30_000 });
}

/** Presses Start and returns the Train view's refusal in one line, then dismisses it; the run shown before stays shown. */
async function refusedStart(): Promise<string> {
  const status = await page.getByTestId('train-status').innerText();
  const points = (await page.getByTestId('loss-chart').getAttribute('data-points'))!;
  expect(Number(points)).toBeGreaterThan(0);
  await page.getByTestId('train-start').click();
  const alert = page.locator('main [role="alert"]');
  await alert.waitFor({ timeout: 60_000 });
  const text = (await alert.innerText()).replace(/\s+/g, ' ');
  await alert.getByRole('button', { name: /dismiss/i }).click();
  await page.locator(`[data-testid="loss-chart"][data-points="${points}"]`).waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('train-status').innerText()).toBe(status);
  return text;
}

/** The Runs view lists exactly `n` runs. */
async function runsListed(n: number): Promise<void> {
  await nav(page, 'runs');
  await page.waitForFunction((count) => document.querySelectorAll('[data-testid="run-row"]').length === count, n);
}

beforeAll(async () => {
  await ensureRendererBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'studio-e2e-newcomer-'));
  data = await makeDataset(join(tmp, 'shapes'), {
    classes: ['circle', 'square', 'stripes', 'stripes_vertical'], perClass: 6, valPerClass: 4, layout: 'split', size: 32, seed: 11,
  });
  // A dataset of 3 classes in the workspace's datasets/ folder, to be picked from the list (item 9).
  await makeDataset(join(tmp, 'workspace', 'datasets', 'three-shapes'), { classes: 3, perClass: 4, size: 32, seed: 12 });
  ({ server, browser, page, problems } = await startStudio(join(tmp, 'workspace')));
}, 180_000);

afterEach((ctx) => shotIfFailed(page, ctx.task, 'failed-newcomer'));

afterAll(() => stopStudio({ browser, server }, tmp));

describe('what a newcomer expects (issue 24)', () => {
  it('item 5: a reload, and a second window, show the Train view as it was: folder, settings, the finished run', async () => {
    await page.goto(server.url);
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.getByTestId('dataset-path').fill(data.root);
    await page.getByTestId('dataset-path').press('Enter');
    await viewOutcome(page, '[data-testid="class-counts"] [data-bars]:not([data-bars="0"])', 30_000);
    await train(1, '0.003');
    const before = await trainViewOf(page);
    expect(before).toMatchObject({ data: data.root, size: '32', epochs: '1', batch: '8', status: 'Finished' });

    await page.waitForTimeout(600); // the view is saved once the form has been still for 300 ms
    await page.reload();
    await page.locator('.conn[data-state="connected"]').waitFor();
    expect(await trainViewOf(page)).toEqual(before);

    // A second window with nothing of the first (another browser profile: no recent folders in its storage).
    const other = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const second = await other.newPage();
      // Opened on the Dataset view, which shows the kept folder once the studio has said what it is.
      await second.goto(server.url.replace(/#.*$/, '') + '#/dataset');
      await second.locator('[data-testid="class-counts"] [data-bars]:not([data-bars="0"])').waitFor();
      expect(await second.getByTestId('dataset-path').inputValue()).toBe(data.root);
      await nav(second, 'train');
      expect(await trainViewOf(second)).toEqual(before);
    } finally {
      await other.close();
    }
  }, 420_000);

  it('item 8: a runs table with every setting and final metric, sorted and filtered by them', async () => {
    await train(2, '0.002');
    await nav(page, 'runs');
    const rows = page.getByTestId('run-row');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 2);
    const headers = (await page.locator('[data-testid="runs-table"] thead th').allInnerTexts()).map((h) => h.replace(/ [↑↓]$/, ''));
    expect(headers).toEqual(expect.arrayContaining(['lr', 'imageSize', 'batchSize', 'epochs', 'warmupEpochs', 'labelSmoothing', 'weightDecay',
      'seed', 'hflip', 'cropScale', 'best val. top-1', 'last val. loss', 'epochs done']));
    const epochsOfRows = () => rows.locator('td[data-col="epochs"]').allInnerTexts();
    await page.getByTestId('sort-epochs').click();
    expect(await epochsOfRows()).toEqual(['1', '2']);
    await page.getByTestId('sort-epochs').click();
    expect(await epochsOfRows()).toEqual(['2', '1']);
    expect(await rows.first().locator('td[data-col="lr"]').innerText()).toBe('2.0e-3');

    await page.getByTestId('runs-filter').fill('lr=0.003');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    expect(await epochsOfRows()).toEqual(['1']);
    await page.getByTestId('runs-filter').fill('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 2);
  });

  it('item 8: tags and notes on a run, kept in its folder, filter the table', async () => {
    const row = page.locator('[data-testid="run-row"]', { has: page.locator('td[data-col="epochs"]', { hasText: /^1$/ }) });
    const runId = (await row.getAttribute('data-run'))!;
    await row.locator('td.name button').click();
    await page.getByRole('textbox', { name: /^Tags of/ }).fill('baseline, tiny');
    await page.getByRole('textbox', { name: /^Notes on/ }).fill('lr 3e-3, one epoch');
    await page.getByRole('button', { name: 'Save tags and notes' }).click();
    await row.locator('.tag', { hasText: 'baseline' }).waitFor();
    const record = JSON.parse(await readFile(join(tmp, 'workspace', 'runs', runId, 'run.json'), 'utf8'));
    expect(record).toMatchObject({ tags: ['baseline', 'tiny'], notes: 'lr 3e-3, one epoch' });

    await page.reload();
    await page.locator('.conn[data-state="connected"]').waitFor();
    await page.getByTestId('runs-filter').fill('tags:baseline');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    expect(await page.getByTestId('run-row').getAttribute('data-run')).toBe(runId);
    await page.getByTestId('runs-filter').fill('one epoch'); // words of the notes
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    await page.getByTestId('runs-filter').fill('');
  });

  it('item 8: the compared runs\' curves download as CSV and PNG', async () => {
    const rows = page.getByTestId('run-row');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 2);
    for (const box of await rows.getByRole('checkbox').all()) await box.check();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="runs-acc-chart"]')?.getAttribute('data-points')) === 3);
    const names = await rows.locator('td.name button').allInnerTexts();

    const csv = await downloadOf('Download Validation accuracy as CSV');
    expect(csv.file).toBe('validation-accuracy.csv');
    const lines = csv.bytes.toString('utf8').trim().split('\n');
    expect(lines[0].split(',').slice(1).sort()).toEqual([...names].sort());
    expect(lines.map((l) => l.split(',')[0])).toEqual(['epoch', '1', '2']);
    for (const l of lines.slice(1)) for (const v of l.split(',').slice(1).filter(Boolean)) expect(Number(v)).toBeGreaterThanOrEqual(0);
    expect(lines[2].split(',').filter(Boolean)).toHaveLength(2); // epoch 2: only the 2-epoch run

    const png = await downloadOf('Download Validation loss as PNG');
    expect(png.file).toBe('validation-loss.png');
    const meta = await sharp(png.bytes).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(200);
    const stats = await sharp(png.bytes).stats();
    expect(Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev))).toBeGreaterThan(5); // lines on a background
    await screenshot(page, 'newcomer-runs-table');
  });

  it('item 7: a misclassified image opens in Attention with its classes, under an overlay with an opacity slider; another size is warned of (item 1)', async () => {
    await nav(page, 'evaluate');
    await page.getByTestId('eval-start').click();
    await viewOutcome(page, '[data-testid="confusion"]', 120_000);
    const mistake = page.locator('[data-testid="misclassified"] li').first();
    await mistake.waitFor();
    const predicted = (await mistake.locator('.pred').innerText()).replace(/\s*\d+ %$/, '');
    const truth = (await mistake.locator('.true').innerText()).replace(/^was /, '');
    await mistake.getByTestId('inspect-mistake').click();

    await page.waitForURL(/#\/attention$/);
    const context = page.getByTestId('attention-context');
    expect(await context.innerText()).toContain(`${truth}, predicted ${predicted}`);
    await viewOutcome(page, '[data-testid="overlay-opacity"]', 120_000);
    const overlay = page.getByTestId('overlay');
    expect(await overlay.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await page.locator('[data-testid="patch-picker"] img.base').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await overlay.evaluate((el) => getComputedStyle(el).opacity)).toBe('1');
    await page.getByTestId('overlay-opacity').fill('0.3');
    expect(await overlay.evaluate((el) => getComputedStyle(el).opacity)).toBe('0.3');
    await screenshot(page, 'newcomer-attention-mistake');

    // At another size than the run trained at, the view says so, and puts it back.
    const warning = page.getByTestId('attention-size-warning');
    expect(await warning.count()).toBe(0);
    await page.locator('#a-size').selectOption('64');
    await warning.waitFor({ timeout: 120_000 });
    expect(await warning.innerText()).toMatch(/at 32 px; this map is computed at\s+64 px/);
    await warning.getByRole('button', { name: 'Use 32 px' }).click();
    await warning.waitFor({ state: 'detached', timeout: 120_000 });
    expect(await page.locator('#a-size').inputValue()).toBe('32');
  }, 240_000);

  it('item 9: an image dropped on the page is inspected; a fake or oversized one is refused with the reason', async () => {
    const zone = '[aria-label="Image drop zone"]';
    await drop(zone, { name: 'my-photo.png', type: 'image/png', bytes: await encode(drawClassImage(1, 4, 48, 5), 48, 48, 'png') });
    await page.getByTestId('attention-map').locator('h2, h3', { hasText: 'my-photo.png' }).first().waitFor();
    await viewOutcome(page, '[data-testid="overlay-opacity"]', 120_000);
    expect(await page.getByTestId('attention-context').count()).toBe(0); // a dropped image has no evaluation behind it
    expect(await page.getByTestId('top5').locator('li').count()).toBe(4);

    // Bytes that claim to be a PNG: decoded on the studio with its checks, refused in words.
    await drop(zone, { name: 'fake.png', type: 'image/png', bytes: Buffer.from('this is not an image at all, just text') });
    const alert = page.locator('main [role="alert"]');
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.innerText()).toMatch(/fake\.png[\s\S]*cannot read image the dropped image: not an image/);
    await alert.getByRole('button', { name: /dismiss/i }).click();

    // Too big to send: refused in the window before a byte leaves it.
    await drop(zone, { name: 'huge.png', type: 'image/png', size: 30_000_000 });
    expect(await alert.innerText()).toMatch(/huge\.png.*30\.0 MB; images up to 24 MB/s);
    await alert.getByRole('button', { name: /dismiss/i }).click();
    // Not an image type at all.
    await drop(zone, { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('hello') });
    expect(await alert.innerText()).toMatch(/notes\.txt.*not a PNG, JPEG, WebP or GIF/s);
    await alert.getByRole('button', { name: /dismiss/i }).click();
  }, 180_000);

  it('item 9: a dataset folder is picked from the workspace\'s folders, no path typed', async () => {
    await nav(page, 'dataset');
    const list = page.getByTestId('workspace-folders');
    await list.getByRole('button', { name: 'datasets/three-shapes' }).click();
    await page.getByTestId('dataset-stats').filter({ hasText: /classes\s*3\b/i }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('dataset-path').inputValue()).toBe(join(tmp, 'workspace', 'datasets', 'three-shapes'));
  });

  it('item 2: with the engine on another device, Latency times it beside the engine process and onnxruntime, each named', async () => {
    // Training moved to worker threads (as 'auto' may move it to a Chromium page): a second TF.js path.
    expect(await server.service.handle('settings.set', { backend: 'wasm-workers' })).toMatchObject({ ok: true });
    await page.reload();
    await page.locator('.backend', { hasText: 'wasm-workers' }).waitFor({ timeout: 120_000 });
    await nav(page, 'latency');
    await page.getByTestId('latency-size').selectOption('64');
    await page.locator('#l-runs').fill('2');
    await page.getByTestId('latency-start').click();
    await viewOutcome(page, '[data-testid="baseline-bars"]:not([data-bars="0"])', 300_000);
    const rows = page.getByTestId('latency-paths').locator('tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((r) => r.getAttribute('data-path')))).toEqual(['in-process', 'engine', 'onnxruntime']);
    expect(await rows.nth(1).innerText()).toMatch(/TF\.js on the training device, wasm-workers \(\d+ worker threads? of this process\)/);
    expect(await page.getByTestId('latency-paths').getByTestId('path-ms').count()).toBe(3); // every path has its figure
    const shown = (await page.getByTestId('latency-paths').locator('tr.shown').getAttribute('data-path'))!;
    expect(await page.getByTestId('latency-paths').locator(`tr[data-path="${shown}"]`).innerText()).toContain('fastest');
    await screenshot(page, 'newcomer-latency-paths');
    expect(await server.service.handle('settings.set', { backend: 'auto' })).toMatchObject({ ok: true });
  }, 420_000);

  it('item 4: one class, or RandAugment with colour jitter, is refused in the Train view before a run exists, in the schema\'s words', async () => {
    const before = await runFolders();
    const one = await makeDataset(join(tmp, 'one-class'), { classes: ['circle'], perClass: 4, size: 32, seed: 13 });
    await openDataset(one.root, 1);
    await nav(page, 'train');
    expect(await refusedStart()).toMatch(new RegExp(`Could not start training.*need at least two class folders, found only ${join(one.root, 'circle')}`));

    await openDataset(data.root, 4);
    await nav(page, 'train');
    const more = page.locator('details', { has: page.locator('summary', { hasText: 'More of the recipe' }) });
    if (!(await more.evaluate((d) => (d as HTMLDetailsElement).open))) await more.locator('summary').click();
    const randAugment = more.getByRole('checkbox', { name: 'RandAugment' });
    await randAugment.check();
    await more.locator('#t-jitter').fill('0.2');
    expect(await refusedStart()).toMatch(/Could not start training.*training settings: augmentation\.colorJitter must be 0 with augmentation\.randAugment/);
    await more.locator('#t-jitter').fill('0');
    await randAugment.uncheck();

    expect(await runFolders()).toEqual(before);
    await runsListed(before.length);
  });

  it('issue 18 item 6: RandAugment ticked in the Train form trains a run, and the run says so in Runs and in its run.json', async () => {
    const before = await runFolders();
    await nav(page, 'train');
    const more = page.locator('details', { has: page.locator('summary', { hasText: 'More of the recipe' }) });
    if (!(await more.evaluate((d) => (d as HTMLDetailsElement).open))) await more.locator('summary').click();
    const randAugment = more.getByRole('checkbox', { name: 'RandAugment' });
    await randAugment.check();
    expect(await more.locator('#t-jitter-hint').innerText()).toMatch(/0 with RandAugment/);
    await train(1, '0.003');
    await randAugment.uncheck();
    const [id] = (await runFolders()).filter((r) => !before.includes(r));
    expect(JSON.parse(await readFile(join(tmp, 'workspace', 'runs', id, 'run.json'), 'utf8')).settings.augmentation).toMatchObject({ randAugment: true, colorJitter: 0 });
    await nav(page, 'runs');
    await page.locator(`[data-testid="run-row"][data-run="${id}"] button.link`).click();
    await page.locator('tr.details dd', { hasText: /, RandAugment$/ }).waitFor({ timeout: 10_000 });
  }, 420_000);

  it('item 3: offline, Quick from an uncached zoo model says what happened and what to do; an imported local file starts it', async () => {
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `http://127.0.0.1:${await closedPort()}`; // the studio's zoo reads it at each pull
    try {
      const before = await runFolders();
      await nav(page, 'train');
      await page.getByTestId('start-quick').check();
      await page.getByTestId('start-from').selectOption('mobilevit_xxs');
      await page.getByTestId('zoo-download').click();
      const alert = page.locator('main [role="alert"]');
      await alert.waitFor({ timeout: 60_000 });
      const said = (await alert.innerText()).replace(/\s+/g, ' ');
      expect(said).toMatch(/downloading mobilevit_xxs timm\/mobilevit_xxs\.cvnets_in1k@main\/model\.safetensors: 127\.0\.0\.1 refused the connection \(ECONNREFUSED: nothing listens at 127\.0\.0\.1:\d+/);
      expect(said).toMatch(/Without the Hub: import a local copy .*, set HF_ENDPOINT to a mirror of huggingface\.co, or train from scratch/);
      expect(said).toContain('choose “Import a local file…” under Start from');
      expect(said).not.toMatch(/getaddrinfo|fix it and try again/);
      // Quick waits for its weights: no run on a random backbone.
      expect(await page.locator('#t-start-error').innerText()).toMatch(/Quick starts from pretrained weights/);
      expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
      expect(await runFolders()).toEqual(before);
      await screenshot(page, 'newcomer-offline-quick');

      await page.getByTestId('start-from').selectOption({ label: 'Import a local file…' });
      // A path that is not there: refused in words, nothing selected.
      const missing = join(tmp, 'no-such-weights.safetensors');
      await page.getByTestId('import-path').fill(missing);
      await page.getByTestId('zoo-import').click();
      await alert.waitFor({ timeout: 60_000 });
      expect(await alert.innerText()).toContain(`${missing}: no such file`);
      expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
      await page.getByTestId('import-path').fill(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
      await page.getByTestId('zoo-import').click();
      await page.getByTestId('zoo-ready').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('zoo-imported').innerText()).toMatch(/Imported .*mobilevit_xxs_256_b1_c1000\.weights\.safetensors as mobilevit_xxs\./);
      expect(await page.getByTestId('start-from').inputValue()).toBe('mobilevit_xxs');
      const options = await page.getByTestId('start-from').locator('option').allInnerTexts();
      expect(options.find((o) => o.includes('mobilevit_xxs.cvnets_in1k'))).toMatch(/✓ cached/);
      expect(await alert.count()).toBe(0);
      await page.getByTestId('train-epochs').fill('1');
      await page.getByTestId('train-start').click();
      await viewOutcome(page, '[data-testid="train-status"]:text-is("Finished")', 300_000);
      expect(await runFolders()).toHaveLength(before.length + 1);
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
    }
  }, 420_000);

  it('raised no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
