// What the end-to-end tests need around the page: a built renderer, Debian's Chromium driven by
// playwright-core, and screenshots that are saved as artifacts and checked to show something.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rm } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { ensureBuilt, RENDERER } from '../../src/build/outputs.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ARTIFACTS = join(ROOT, 'test', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds dist-renderer/ when it is missing or older than its sources (the same check `npm start` and `serve` use). */
export async function ensureRendererBuilt(): Promise<void> {
  await ensureBuilt(RENDERER);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Everything the page complains about: uncaught errors, console errors (CSP violations land there). */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return problems;
}

/**
 * Saves a screenshot to test/artifacts/<name>.png and returns the largest per-channel standard
 * deviation of its pixels: a blank or single-colour page scores near 0.
 */
export async function screenshot(page: Page, name: string): Promise<number> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const stats = await sharp(path).stats();
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
}

/**
 * With DOCS_SCREENSHOTS=1 (never in CI): the page as assets/screenshots/<name>.png for the README, scaled down and
 * palette-quantised so it stays small in git. Returns whether it wrote one.
 */
export async function docsScreenshot(page: Page, name: string): Promise<boolean> {
  if (!process.env.DOCS_SCREENSHOTS) return false;
  await page.evaluate(() => window.scrollTo(0, 0));
  const shot = join(ARTIFACTS, `${name}-full.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await sharp(shot).resize({ width: 1100, withoutEnlargement: true }).png({ palette: true, quality: 90, compressionLevel: 9 }).toFile(join(ROOT, 'assets', 'screenshots', `${name}.png`));
  return true;
}

/** Standard deviation of an image given as a data URL (is a heatmap more than one flat colour?). */
export async function dataUrlStdev(dataUrl: string): Promise<number> {
  const buf = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  const stats = await sharp(buf).stats();
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
}

/**
 * Waits for what a step should produce; if the view shows an error instead, fails at once with the error's
 * text (rather than timing out without saying why).
 */
export async function viewOutcome(page: Page, selector: string, timeout: number): Promise<void> {
  const alert = page.locator('main [role="alert"]');
  await page.locator(`${selector}, main [role="alert"]`).first().waitFor({ timeout });
  if (await alert.count()) throw new Error(`the view shows an error: ${(await alert.first().innerText()).replace(/\s+/g, ' ')}`);
}

/** A failed step leaves a picture of what the page showed, next to the other artifacts (for afterEach). */
export async function shotIfFailed(page: Page | undefined, task: { name: string; result?: { state: string } }, prefix: string): Promise<void> {
  if (task.result?.state !== 'fail' || !page) return;
  await screenshot(page, `${prefix}-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
}

export interface StudioPage {
  server: RunningServer;
  browser: Browser;
  page: Page;
  /** What the page complains about (watchPage). */
  problems: string[];
}

/** The browser-mode server on `workspace`, and Chromium with one watched page (1360 × 900, light scheme). */
export async function startStudio(workspace: string): Promise<StudioPage> {
  const server = await startServer({ workspace });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
  return { server, browser, page, problems: watchPage(page) };
}

/** Closes whatever startStudio opened and removes the test's temporary folder. */
export async function stopStudio(studio: Partial<StudioPage>, tmp: string | undefined): Promise<void> {
  await studio.browser?.close();
  await studio.server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}
