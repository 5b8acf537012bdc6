// A compute device in headless Chromium (the CLI, `serve`, tests): serves the device page (dist-device/, built on
// demand) on 127.0.0.1 (page-server.ts), launches Chromium with playwright-core, and talks to the page over a
// WebSocket that only the page, holding this launch's token, may open.
//
// Lifetime: the browser is this process's child, in its own process group (playwright starts it detached), so a
// signal to our group does not reach it. It is closed with the device; when this process dies without closing it
// (SIGKILL included), Chromium exits by itself: playwright drives it over --remote-debugging-pipe, and Chromium
// closes when that pipe's far end goes away, taking its GPU, renderer and crashpad processes with it (measured:
// gone within ~3 s, also with a page busy compiling shaders; test/device/chromium.test.ts holds it to that).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { WebSocket } from 'ws';
import type { PageBackend } from '../backend/names.ts';
import { DEVICE_PAGE, ROOT, ensureBuilt } from '../build/outputs.ts';
import { openPageDevice, pageChannel, within } from './channel.ts';
import type { ChannelDevice } from './device.ts';
import { servePage, socketEndpoint } from './page-server.ts';

/** Where Chromium or Chrome usually is, per platform; CHROMIUM_PATH wins. */
const CANDIDATES: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
  win32: [
    `${process.env['PROGRAMFILES'] ?? 'C:\\Program Files'}\\Google\\Chrome\\Application\\chrome.exe`,
    `${process.env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)'}\\Google\\Chrome\\Application\\chrome.exe`,
    `${process.env['LOCALAPPDATA'] ?? ''}\\Google\\Chrome\\Application\\chrome.exe`,
  ],
};

export class NoChromiumError extends Error {}

/** The Chromium or Chrome executable: CHROMIUM_PATH, else the first usual place that exists. */
export function findChromium(env: Record<string, string | undefined> = process.env): string {
  const named = env.CHROMIUM_PATH?.trim();
  if (named) {
    if (!existsSync(named)) throw new NoChromiumError(`CHROMIUM_PATH is ${named}, which does not exist`);
    return named;
  }
  const found = (CANDIDATES[process.platform] ?? []).find((p) => existsSync(p));
  if (!found) throw new NoChromiumError('no Chromium or Chrome found (install chromium, e.g. `apt-get install chromium`, or set CHROMIUM_PATH)');
  return found;
}

/** Flags for a page that computes: WebGPU on (Linux needs it unlocked), no UI, nothing phoning home. */
export function chromiumArgs(): string[] {
  return [
    '--headless=new',
    '--enable-unsafe-webgpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // A background page must not be throttled while it trains.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    // Long GPU tasks (a software adapter compiling a large shader, a big readback) must not make Chromium
    // restart its GPU process: that loses the device mid-run ("A valid external Instance reference…").
    '--disable-gpu-watchdog',
    // Root (a container, CI) cannot use Chromium's sandbox.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
}

export interface ChromiumDeviceOptions {
  /** Gives up on a browser or page that does not come up (first WebGPU use compiles shaders: slow on software). */
  startTimeoutMs?: number;
  env?: Record<string, string | undefined>;
  /** Progress for the user while the page is built and the browser starts. */
  onNote?: (note: string) => void;
}

/** Starts headless Chromium with the device page on `backend`; the returned device closes the browser. */
export async function openChromiumDevice(backend: PageBackend, opts: ChromiumDeviceOptions = {}): Promise<ChannelDevice> {
  const executablePath = findChromium(opts.env);
  await ensureBuilt(DEVICE_PAGE, { log: (line) => opts.onNote?.(line) });
  const token = randomBytes(24).toString('base64url');
  const { server, port, socket } = await servePage(join(ROOT, 'dist-device'), token);
  let browser: Browser | null = null;
  let ws: WebSocket | null = null;
  let released: Promise<void> | null = null;
  // Once, whoever calls it first: the device's close(), or a start that failed.
  const release = () => (released ??= (async () => {
    await browser?.close().catch(() => undefined);
    // close() waits for every open connection: end them (keep-alive, and the socket of a page that outlived
    // its browser's close), or release would wait for them forever.
    ws?.terminate();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  })());
  try {
    browser = await chromium.launch({ executablePath, args: chromiumArgs(), headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    const host = `headless Chromium ${browser.version()}`;
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    if (process.env.MOBILEVIT_DEVICE_DEBUG) page.on('console', (m) => process.stderr.write(`[device page] ${m.type()}: ${m.text()}\n`));
    const base = `http://127.0.0.1:${port}`;
    const hash = new URLSearchParams({ backend, host, ws: `ws://127.0.0.1:${port}/device?token=${token}` });
    await page.goto(`${base}/#${hash}`);
    const timeout = opts.startTimeoutMs ?? 60_000;
    const live = await within(socket, timeout, () => `the device page did not connect within ${timeout / 1000} s${problems.length ? `: ${problems.join('; ')}` : ''}`);
    ws = live;
    // A crashed tab also ends the WebSocket, which fails the pending call (ChannelDevice).
    page.on('crash', () => live.terminate());
    browser.on('disconnected', () => live.terminate());
    return await openPageDevice(pageChannel(socketEndpoint(live)), { backend, host, timeoutMs: timeout, release });
  } catch (e) {
    await release();
    throw e;
  }
}
