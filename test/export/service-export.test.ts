// runs.export through the studio service and the real engine process: each format lands in the run's
// exports/ folder, and a run that does not exist is 'not found'.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src/service/service.ts';
import { decodeModel } from './onnx-model.ts';
import { stateDict } from '../../src/model/weights.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { tempDir } from '../engine/fixtures/studio.ts';
import { randomModel } from './helpers.ts';

let ws: ReturnType<typeof tempDir>;
let service: StudioService;
let runId: string;
let runDir: string;

beforeAll(async () => {
  await tf.setBackend('wasm');
  ws = tempDir('export-service-');
  ({ id: runId, dir: runDir } = createRun({ data: join(ws.dir, 'data'), variant: 'mobilenet_v2', imageSize: 64, epochs: 3 }, { workspace: ws.dir }));
  const model = randomModel('mobilenet_v2', 2, 3);
  new CheckpointStore(join(runDir, 'checkpoints')).save('last', 1, stateDict(model), null, {});
  model.dispose();
  updateRun(runDir, { classes: ['ant', 'bee'], status: 'stopped' });
  service = new StudioService({ mode: 'cli', workspace: ws.dir });
  await service.handle('settings.set', { backend: 'wasm' });
});
afterAll(async () => {
  await service.close();
  ws.remove();
});

describe('inspect.profile on onnxruntime', () => {
  it('gives the Latency view per-block times from onnxruntime, with MACs and MobileViT parts', async () => {
    const r = await service.handle('inspect.profile', { variant: 'mobilevit_xxs', imageSize: 64, runs: 2, runtime: 'onnxruntime' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const p = (r as { result: { backend: string; macs: number; blocks: { name: string; ms: number; macs: number; parts: { name: string }[] }[] } }).result;
    expect(p.backend).toMatch(/^onnxruntime/);
    expect(p.macs).toBeGreaterThan(1e7);
    for (const b of p.blocks) expect(b.ms, b.name).toBeGreaterThan(0);
    expect(p.blocks.find((b) => b.name === 'stages.2.1')!.parts.map((x) => x.name)).toEqual(['local', 'unfold', 'transformer', 'fold', 'projection', 'fusion']);
    const tfjs = await service.handle('inspect.profile', { variant: 'mobilevit_xxs', imageSize: 64, runs: 1 });
    expect((tfjs as { result: { backend: string; macs: number } }).result).toMatchObject({ backend: 'wasm', macs: p.macs });
  }, 120_000);
});

describe('runs.export', () => {
  it('writes ONNX, safetensors and the timm recipe into the run\'s exports folder', async () => {
    const onnx = await service.handle('runs.export', { runId, format: 'onnx', checkpoint: 'last', imageSize: 96 });
    expect(onnx.ok, JSON.stringify(onnx)).toBe(true);
    const r = (onnx as { result: { files: { path: string; bytes: number }[] } }).result;
    expect(r.files[0].path).toBe(join(runDir, 'exports', `${runId}-last-96px.onnx`));
    const meta = Object.fromEntries(decodeModel(new Uint8Array(readFileSync(r.files[0].path))).metadataProps!.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.labels!)).toEqual(['ant', 'bee']);
    expect(JSON.parse(meta.input_size!)).toEqual([3, 96, 96]);

    const st = await service.handle('runs.export', { runId, format: 'safetensors', checkpoint: 'last' });
    expect(st.ok, JSON.stringify(st)).toBe(true);
    expect(existsSync(join(runDir, 'exports', `${runId}-last.safetensors`))).toBe(true);

    const recipe = await service.handle('runs.export', { runId, format: 'timm-recipe' });
    expect(recipe.ok, JSON.stringify(recipe)).toBe(true);
    expect((recipe as { result: { command: string } }).result.command).toMatch(/^python train\.py -c .*timm-recipe\.yaml$/);
    expect(readFileSync(join(runDir, 'exports', `${runId}.timm-recipe.yaml`), 'utf8')).toContain('model: "mobilenetv2_100"');
  }, 120_000);

  it('refuses a run that does not exist, a format it does not know, and a best checkpoint the run lacks', async () => {
    expect(await service.handle('runs.export', { runId: 'nope', format: 'onnx' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await service.handle('runs.export', { runId, format: 'tflite' })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    const best = await service.handle('runs.export', { runId, format: 'onnx', checkpoint: 'best' });
    expect(best).toMatchObject({ ok: false, error: { message: expect.stringMatching(/no best checkpoint/) } });
  }, 60_000);
});
