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
import { openPageDevice, pageChannel } from './channel.ts';
import type { ChannelDevice } from './device.ts';
import { servePage, socketEndpoint, type PageServer } from './page-server.ts';
import { START_STALL_MS, StartWatch } from './start-watch.ts';

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

/** This process's user id; null where there is none (Windows). */
const currentUid = (): number | null => process.getuid?.() ?? null;

/** Flags for a page that computes: WebGPU on (Linux needs it unlocked), no UI, nothing phoning home. */
export function chromiumArgs(uid: number | null = currentUid()): string[] {
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
    // Chromium refuses to start its sandbox as root (a container, CI): only there does it run without one, and
    // sandboxNote says so. Never otherwise.
    ...(uid === 0 ? ['--no-sandbox'] : []),
  ];
}

/** What the log says when Chromium runs without its sandbox (as root), else null. */
export function sandboxNote(uid: number | null = currentUid()): string | null {
  return uid === 0
    ? "running as root: headless Chromium starts without its sandbox (--no-sandbox), which it cannot use as root; run as another user to keep it"
    : null;
}

export interface ChromiumDeviceOptions {
  /** How long the start may take no step before it fails (a slow start that keeps moving is given the time it needs). */
  startTimeoutMs?: number;
  env?: Record<string, string | undefined>;
  /** Progress for the user while the page is built and the browser starts (a start that takes long says each step). */
  onNote?: (note: string) => void;
  /** Cancels the start (the browser is closed). */
  signal?: AbortSignal;
}

/** Starts headless Chromium with the device page on `backend`; the returned device closes the browser. */
export async function openChromiumDevice(backend: PageBackend, opts: ChromiumDeviceOptions = {}): Promise<ChannelDevice> {
  const executablePath = findChromium(opts.env);
  const stallMs = opts.startTimeoutMs ?? START_STALL_MS;
  const watch = new StartWatch({ what: `${backend} in headless Chromium`, stallMs, signal: opts.signal, onNote: opts.onNote });
  let launching: Promise<Browser> | null = null;
  let ws: WebSocket | null = null;
  let page: PageServer | null = null;
  let released: Promise<void> | null = null;
  // Once, whoever calls it first: the device's close(), or a start that failed or was cancelled.
  const release = () => (released ??= (async () => {
    watch.end();
    // A launch the start gave up on still ends in a browser (or playwright's own launch timeout): close it too.
    await launching?.then((b) => b.close()).catch(() => undefined);
    // close() waits for every open connection: end them (keep-alive, and the socket of a page that outlived
    // its browser's close), or release would wait for them forever.
    ws?.terminate();
    if (!page) return;
    const { server } = page;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  })());
  const problems: string[] = [];
  try {
    watch.stepTo('building the device page');
    await watch.guard(ensureBuilt(DEVICE_PAGE, { log: (line) => opts.onNote?.(line) }));
    const token = randomBytes(24).toString('base64url');
    page = await servePage(join(ROOT, 'dist-device'), token);
    const { port, socket } = page;
    watch.stepTo('launching headless Chromium');
    const note = sandboxNote();
    if (note) opts.onNote?.(note);
    launching = chromium.launch({ executablePath, args: chromiumArgs(), headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, timeout: stallMs });
    const browser = await watch.guard(launching);
    const host = `headless Chromium ${browser.version()}`;
    watch.stepTo('opening a tab');
    const tab = await watch.guard(browser.newPage());
    tab.on('pageerror', (e) => problems.push(e.message));
    if (process.env.MOBILEVIT_DEVICE_DEBUG) tab.on('console', (m) => process.stderr.write(`[device page] ${m.type()}: ${m.text()}\n`));
    // Its scripts (TF.js and its backends, megabytes) run before DOMContentLoaded; the page then connects.
    tab.once('domcontentloaded', () => watch.stepTo('waiting for the device page to connect'));
    watch.stepTo("loading the device page's scripts");
    const hash = new URLSearchParams({ backend, host, ws: `ws://127.0.0.1:${port}/device?token=${token}` });
    await watch.guard(tab.goto(`http://127.0.0.1:${port}/#${hash}`, { waitUntil: 'commit', timeout: 0 }));
    const live = await watch.guard(socket);
    ws = live;
    // A crashed tab also ends the WebSocket, which fails the pending call (ChannelDevice).
    tab.on('crash', () => live.terminate());
    browser.on('disconnected', () => live.terminate());
    return await openPageDevice(pageChannel(socketEndpoint(live)), { backend, host, timeoutMs: stallMs, release, watch });
  } catch (e) {
    await release();
    if (problems.length) (e as Error).message += ` (the page reported: ${problems.join('; ')})`;
    throw e;
  }
}
