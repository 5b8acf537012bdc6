// The inspection and bench commands on Chromium page devices, through the CLI entry point: attention and the
// receptive field on webgpu give what this process gives, profile on webgpu names the device it timed and charges
// every block, and bench on threaded wasm prints its JSON line. Debian's headless Chromium here has SwiftShader, a
// software GPU: exact but slow, so inputs are 32–64 px with one timed pass (each new shape compiles shaders), and no
// time is checked against a bound. A loaded machine makes all of it slower still (a page start took over 60 s beside
// another test run): a device start fails only when it stops making progress (src/device/start-watch.ts), and the
// limits here are for hangs only.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DEVICE_PAGE, ensureBuilt } from '../../src/build/outputs.ts';
import { findChromium } from '../../src/device/chromium.ts';
import { runCli } from '../helpers/cli.ts';
import { encode } from '../helpers/dataset.ts';
import { fixture } from '../helpers/fixtures.ts';

const chromium = (() => { try { return findChromium(); } catch { return null; } })();
const WEIGHTS = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');
const MINUTE = 60_000;
/** Only for a hang: each test starts one or two browsers and compiles shaders on the CPU. */
const HANG = 10 * MINUTE;
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

describe.skipIf(!chromium || !existsSync(chromium))('inspection and bench on page devices', () => {
  let dir: string;
  let image: string;

  beforeAll(async () => {
    await initBackend('wasm');
    await ensureBuilt(DEVICE_PAGE); // once here, not inside the first command's time
    dir = mkdtempSync(join(tmpdir(), 'page-devices-cli-'));
    // A gradient with a bright square: attention has something to prefer.
    const rgb = new Uint8Array(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const square = x > 36 && x < 52 && y > 12 && y < 28;
      rgb.set(square ? [240, 230, 40] : [3 * x, 90, 200 - 2 * y], (y * 64 + x) * 3);
    }
    image = join(dir, 'picture.png');
    await sharp(await encode(rgb, 64, 64, 'png')).toFile(image);
  }, 5 * MINUTE);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('attention on webgpu: a map over the patch grid that sums to 1, the same as in this process', async () => {
    const args = ['attention', '--weights', WEIGHTS, '--variant', 'mobilevit_xxs', '--image', image, '--image-size', '64',
      '--block', '0', '--layer', '1', '--patch', '1,2', '--json'];
    const gpu = await runCli(...args, '--backend', 'webgpu');
    expect(gpu.code, gpu.err.join('\n')).toBe(0);
    expect(gpu.err.join('\n')).toMatch(/device: webgpu in headless Chromium/);
    const g = JSON.parse(gpu.out);
    // 64 px: block 0 sees an 8×8 feature map, 4×4 patches of 2×2.
    expect(g.grid).toEqual([4, 4]);
    expect(g.map).toHaveLength(4);
    const cells: number[] = g.map.flat();
    expect(cells).toHaveLength(16);
    expect(cells.every((v) => v >= 0)).toBe(true);
    expect(sum(cells)).toBeCloseTo(1, 4);
    expect(g.top5).toHaveLength(5);

    // The same weights and pixels in this process: the GPU's map differs only by float rounding.
    const cpu = await runCli(...args, '--backend', 'wasm');
    expect(cpu.code, cpu.err.join('\n')).toBe(0);
    const c = JSON.parse(cpu.out);
    const diff = Math.max(...cells.map((v, i) => Math.abs(v - c.map.flat()[i])));
    expect(diff).toBeLessThan(1e-4);
    expect(g.top5.map((p: { index: number }) => p.index)[0]).toBe(c.top5[0].index);
  }, HANG);

  it('profile on webgpu: names the device, times every block and part by cuts, and says what a read-back costs', async () => {
    const r = await runCli('profile', '--variant', 'mobilevit_xxs', '--image-size', '64', '--runs', '1', '--warmup', '0', '--backend', 'webgpu', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const p = JSON.parse(r.out);
    expect(p).toMatchObject({ variant: 'mobilevit_xxs', backend: 'webgpu', image_size: 64, batch: 1, runs: 1, timing: 'cuts' });
    expect(p.device).toMatch(/^webgpu in headless Chromium \d/);
    // SwiftShader is a software adapter, and the profile must say so wherever it is one.
    if (/swiftshader/i.test(p.device)) expect(p.device).toMatch(/a software adapter/);
    expect(p.blocks).toHaveLength(13);
    // A block's time is a difference of two cut times: never negative, and on a noisy software GPU sometimes 0.
    for (const b of p.blocks) expect(b.ms, b.name).toBeGreaterThanOrEqual(0);
    expect(p.blocks_ms).toBeGreaterThan(0);
    const vit = p.blocks.filter((b: { kind: string }) => b.kind === 'mobilevit');
    expect(vit.map((b: { parts: { name: string; layers?: number[] }[] }) => b.parts.find((x) => x.name === 'transformer')!.layers!.length)).toEqual([2, 4, 3]);
    for (const b of vit) expect(sum(b.parts.map((x: { ms: number }) => x.ms)), b.name).toBeCloseTo(b.ms, 6);
    // One cut per distinct boundary (see test/inspect/profile-cuts.test.ts), each awaiting a real read-back.
    expect(p.syncs_per_pass).toBe(38);
    expect(p.sync_ms).toBeGreaterThan(0);
    expect(p.total_ms).toBeGreaterThan(0);
  }, HANG);

  it('receptive-field on webgpu: the field this process measures (a synchronous read there gave all zeros)', async () => {
    const args = ['receptive-field', '--variant', 'mobilevit_xxs', '--size', '32', '--block', '1', '--json'];
    const gpu = await runCli(...args, '--backend', 'webgpu');
    expect(gpu.code, gpu.err.join('\n')).toBe(0);
    const cpu = await runCli(...args, '--backend', 'wasm');
    expect(cpu.code, cpu.err.join('\n')).toBe(0);
    const [g, c] = [JSON.parse(gpu.out).blocks[0], JSON.parse(cpu.out).blocks[0]];
    expect(g.coverage).toBeGreaterThan(0);
    expect(g).toMatchObject({ name: 'stages.0.0', coverage: c.coverage, support: c.support, location: c.location, feature_size: c.feature_size });
  }, HANG);

  it('bench on wasm-threads: one JSON line with the issue\'s keys and the device it ran on', async () => {
    const r = await runCli('bench', '--variant', 'mobilevit_xxs', '--mode', 'training', '--image-size', '64', '--batch-size', '2', '--runs', '1',
      '--backend', 'wasm-threads', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const line = JSON.parse(r.lines.at(-1)!);
    expect(Object.keys(line).sort()).toEqual(['adapter', 'backend', 'batchSize', 'device', 'imageSize', 'imagesPerSec', 'medianMs', 'mode', 'runs', 'software', 'variant', 'workers']);
    expect(line).toMatchObject({ variant: 'mobilevit_xxs', mode: 'training', imageSize: 64, batchSize: 2, backend: 'wasm-threads', runs: 1, software: false });
    expect(line.device).toMatch(/^wasm-threads in headless Chromium/);
    expect(line.adapter).toMatch(/thread/);
    expect(line.medianMs).toBeGreaterThan(0);
    expect(line.imagesPerSec).toBeCloseTo((2 * 1000) / line.medianMs, 1);
  }, HANG);
});
