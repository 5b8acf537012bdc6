// The inference runtime rule's kept choices under `serve --workspace DIR` (issue 21): the service reads them beside
// its device speeds, and the engine it forks, whose own default workspace is elsewhere (MOBILEVIT_WORKSPACE names
// another folder here), measures and keeps them in that same file, because the service hands it the speeds file at
// init. Before, the engine kept them in its default workspace, where the Settings view never looked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { RUNTIMES_FILE } from '../../src/device/runtime-file.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import { StudioService } from '../../src/service/service.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { tempDir, waitFor } from '../engine/fixtures/studio.ts';

let ws: ReturnType<typeof tempDir> | null = null;
let service: StudioService | null = null;
afterEach(async () => {
  await service?.close();
  ws?.remove();
});

it("serve's engine measures the runtimes and keeps the choice in the file the service lists, not in its own default workspace", async () => {
  ws = tempDir();
  const elsewhere = join(ws.dir, 'engine-default-workspace');
  // A quick run big enough to measure (64 images at 224 px of input): the rule measures both runtimes once and keeps the winner.
  const engineEnv = {
    ...process.env, MOBILEVIT_WORKSPACE: elsewhere, MOBILEVIT_BACKEND: 'wasm', MOBILEVIT_AUTO_MEASURE: '', MOBILEVIT_INFERENCE_RUNTIME: '',
    MOBILEVIT_WORKERS: '0', CHROMIUM_PATH: join(ws.dir, 'no-chromium'),
  };
  service = new StudioService({ mode: 'cli', workspace: join(ws.dir, 'served'), spawnEngine: () => forkEngine(undefined, engineEnv) });
  const warnings: string[] = [];
  service.on((event, payload: any) => {
    if (event === 'train.event' && payload.event.type === 'warning') warnings.push(payload.event.message);
  });
  const data = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 20, size: 16, seed: 1 });
  const r = await service.handle('train.start', { settings: { data: data.root, imageSize: 224, headOnly: true } });
  if (!r.ok) throw new Error(r.error.message);
  await waitFor(() => (service!.activeRun() === null ? true : undefined), 120_000, 'the run to end');

  const kept = join(ws.dir, 'served', RUNTIMES_FILE);
  expect(warnings.find((w) => w.startsWith('backbone features on'))).toContain(`kept for this machine in ${kept}`);
  expect(existsSync(join(elsewhere, RUNTIMES_FILE))).toBe(false);
  const speeds = await service.handle('devices.speeds', {});
  if (!speeds.ok) throw new Error(speeds.error.message);
  expect((speeds.result as any).runtimes).toEqual([expect.objectContaining({ variant: 'mobilevit_xxs', size: 224, device: 'wasm' })]);
}, 180_000);
