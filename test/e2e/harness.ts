// What the end-to-end tests need around the page: a built renderer, Debian's Chromium driven by
// playwright-core, and screenshots that are saved as artifacts and checked to show something.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { ensureBuilt, RENDERER } from '../../src/build/outputs.ts';

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

/** Standard deviation of an image given as a data URL (is a heatmap more than one flat colour?). */
export async function dataUrlStdev(dataUrl: string): Promise<number> {
  const buf = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  const stats = await sharp(buf).stats();
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
}
