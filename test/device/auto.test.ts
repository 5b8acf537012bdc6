// Choosing by measurement on real devices: wasm in this process against threaded wasm in a headless Chromium
// page, both timed on real training steps (small: 32 px, batch 4), and a measurement cancelled while the page
// computes. Needs Chromium (CHROMIUM_PATH or a usual place) and builds dist-device/ when it is missing.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { chooseByMeasurement, type Candidate } from '../../src/device/auto.ts';
import { MeasureCancelled, type SpeedSpec, type SpeedStore } from '../../src/device/choose.ts';
import { openChromiumDevice } from '../../src/device/chromium.ts';
import { LocalDevice, type ComputeDevice } from '../../src/device/device.ts';
import type { DeviceSpeeds } from '../../src/protocol/contract.ts';
import { measureSpeed } from '../../src/train/speed.ts';

const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].some((p) => p && existsSync(p));
const SPEC: SpeedSpec = { variant: 'mobilevit_xxs', imageSize: 32, batch: 4 };
const FACTS = { studio: 'test', tfjs: 'test', platform: 'test', cpu: 'test', cores: 1 };
beforeAll(async () => {
  await initBackend('wasm');
});

/** Every device the test opened, closed at the end whatever happened (a page is a browser process). */
const opened: ComputeDevice[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.close().catch(() => undefined)));
});

const candidates = (): Candidate[] => [
  { name: 'wasm', open: async () => new LocalDevice('wasm') },
  { name: 'wasm-threads', open: async () => { const d = await openChromiumDevice('wasm-threads'); opened.push(d); return d; } },
];
const store = (): SpeedStore & { tables: DeviceSpeeds[] } => {
  const tables: DeviceSpeeds[] = [];
  return { tables, get: () => null, put: (_k, t) => void tables.push(t) };
};
const measure = async (device: ComputeDevice, signal: AbortSignal | undefined) =>
  (await measureSpeed({ variant: SPEC.variant, mode: 'training', imageSize: SPEC.imageSize, batchSize: SPEC.batch, runs: 2, warmup: 1, numClasses: 10, signal }, undefined, device)).imagesPerSec;

describe.skipIf(!chromium)('measuring real devices', () => {
  it('times wasm in this process and threaded wasm in Chromium, takes one and closes the other', async () => {
    const s = store();
    const r = await chooseByMeasurement({ spec: SPEC, facts: FACTS, candidates: candidates(), store: s, measure, remeasure: true });
    expect(r.table.rows.map((x) => x.device)).toEqual(['wasm', 'wasm-threads']);
    for (const row of r.table.rows) expect(row.imagesPerSecond, `${row.device}: ${row.note}`).toBeGreaterThan(0);
    expect(r.table.rows[1]).toMatchObject({ host: expect.stringMatching(/^headless Chromium \d+/), software: false });
    expect(r.device?.info.name).toBe(r.table.chosen);
    expect(s.tables).toEqual([r.table]);
    // The loser is closed: a closed page device refuses calls.
    const page = opened[opened.length - 1];
    if (r.table.chosen === 'wasm') await expect(page.call({ op: 'info' })).rejects.toThrow(/closed by the engine|lost/);
    else expect(await page.call({ op: 'info' })).toMatchObject({ name: 'wasm-threads' });
    await r.device?.close();
  });

  it('stops at once when cancelled while the page computes, closing it', async () => {
    const controller = new AbortController();
    const pageFirst = candidates().reverse();
    const t0 = Date.now();
    const pending = chooseByMeasurement({
      spec: SPEC, facts: FACTS, candidates: pageFirst, store: store(), remeasure: true, signal: controller.signal,
      measure: (device, signal) => {
        if (device.info.host !== 'this process') setTimeout(() => controller.abort(), 50); // mid-way through its first step
        return measure(device, signal);
      },
    });
    await expect(pending).rejects.toBeInstanceOf(MeasureCancelled);
    const page = opened[opened.length - 1];
    await expect(page.call({ op: 'info' })).rejects.toThrow(/closed by the engine|lost/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
