// The real engine process: backend selection, inspection calls, and a crash under a call.
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHandle } from '../../src/service/engine-handle.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import { encode, drawClassImage } from '../helpers/dataset.ts';
import { tempDir } from './fixtures/studio.ts';
import { writeFileSync } from 'node:fs';
import type { ClassPredictResult } from '../../src/protocol/inspection.ts';

let tmp: ReturnType<typeof tempDir>;
let host: EngineHandle;
let image: string;

beforeAll(async () => {
  tmp = tempDir();
  image = join(tmp.dir, 'probe image.png');
  writeFileSync(image, await encode(drawClassImage(1, 3, 48, 7), 48, 48, 'png'));
  host = new EngineHandle(() => forkEngine(), () => 'wasm');
});
afterAll(() => {
  host.close();
  tmp.remove();
});

describe('engine process', () => {
  it('starts on the chosen backend and reports it', async () => {
    const r = await host.call('profile', { variant: 'mobilevit_xxs', imageSize: 32, batch: 1, runs: 1 });
    expect(host.backend).toMatchObject({ active: 'wasm', gpu: false });
    expect(r.backend).toBe('wasm');
    expect(r.blocks.length).toBeGreaterThan(5);
    const vit = r.blocks.find((b) => b.kind === 'mobilevit')!;
    expect(vit.parts.map((p) => p.name)).toEqual(['local', 'unfold', 'transformer', 'fold', 'projection', 'fusion']);
    // Timed in the engine's own process whatever its device (the Latency view's first path).
    const here = await host.call('profile', { variant: 'mobilevit_xxs', imageSize: 32, batch: 1, runs: 1, device: 'in-process' });
    expect([here.backend, here.device]).toEqual(['wasm', undefined]);
  });

  it('predicts and answers attention queries on a file and on dropped bytes', async () => {
    const model = { kind: 'weights' as const, variant: 'mobilevit_xxs' as const, numClasses: 3, labels: ['a', 'b', 'c'] };
    const predicted = await host.call('predict', { model, image: { path: image }, imageSize: 64 });
    expect(predicted.task).toBe('classification');
    const p = predicted as ClassPredictResult;
    expect(p.top5.map((t) => t.label).sort()).toEqual(['a', 'b', 'c']);
    expect(p.top5.reduce((s, t) => s + t.prob, 0)).toBeCloseTo(1, 4);
    const dataUrl = `data:image/png;base64,${(await encode(drawClassImage(0, 3, 48, 3), 48, 48, 'png')).toString('base64')}`;
    const a = await host.call('attention', { model, image: { dataUrl }, imageSize: 64, block: 0, layer: 'rollout', head: 'mean', patch: [1, 2], pixel: 'mean' });
    expect(a.grid).toEqual([4, 4]); // 64 px → 8×8 feature map at the first MobileViT block → 4×4 patches of 2×2
    expect(a.map.flat().reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
    expect(a.overlay).toMatch(/^data:image\/png;base64,/);
    // The input alone, at the size the model saw, for the window's opacity slider.
    const seen = await sharp(Buffer.from(a.image.slice(a.image.indexOf(',') + 1), 'base64')).metadata();
    expect([seen.format, seen.width, seen.height]).toEqual(['png', 64, 64]);
    expect(a.blocks.map((b) => b.index)).toEqual([0, 1, 2]);
    const bad = host.call('attention', { model, image: { path: image }, imageSize: 64, block: 7, layer: 0, head: 'mean', patch: [0, 0], pixel: 'mean' });
    await expect(bad).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/block 7/) });
    // Dropped bytes that are no image: refused in words that name what was dropped, not a temporary file.
    const fake = host.call('predict', { model, image: { dataUrl: `data:image/png;base64,${Buffer.from('not an image').toString('base64')}` } });
    await expect(fake).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^cannot read image the dropped image: not an image/) });
    const missing = host.call('predict', { model, image: { path: join(tmp.dir, 'nope.png') } });
    await expect(missing).rejects.toMatchObject({ code: 'failed' });
  });

  it('fails the call in flight when the engine is killed, then starts a fresh one', async () => {
    const pid = host.pid!;
    const slow = host.call('profile', { variant: 'mobilevit_s', imageSize: 256, batch: 2, runs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, 'SIGKILL');
    await expect(slow).rejects.toMatchObject({ code: 'engine_crashed', message: expect.stringMatching(/SIGKILL/) });
    expect(host.state).toBe('crashed');
    const r = await host.call('profile', { variant: 'mobilenet_v2', imageSize: 32, batch: 1, runs: 1 });
    expect(r.variant).toBe('mobilenet_v2');
    expect(host.pid).not.toBe(pid);
  });
});
