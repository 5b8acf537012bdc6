// The service's side of "nothing wedges": a stuck inspection fails alone with a timeout error while other
// requests keep answering; an engine that no longer answers pings is restarted and the window is told so
// (an engine.status event whose reason says it), and the next request is served by the fresh engine.
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forkEngine } from '../../src/service/engine-process.ts';
import { StudioService } from '../../src/service/service.ts';
import { tempDir } from '../engine/fixtures/studio.ts';

const STUCK = fileURLToPath(new URL('../engine/fixtures/stuck-engine.ts', import.meta.url));
let ws: ReturnType<typeof tempDir>;
let service: StudioService;
let events: { event: string; payload: any }[];

beforeEach(() => {
  ws = tempDir();
  service = new StudioService({
    mode: 'cli',
    workspace: ws.dir,
    spawnEngine: () => forkEngine(STUCK),
    engine: { timeoutsMs: { predict: 1000 }, pingTimeoutMs: 1000 },
  });
  events = [];
  service.on((event, payload) => events.push({ event, payload }));
});
afterEach(async () => {
  await service.close();
  ws.remove();
});

const predict = (path: string) => service.handle('inspect.predict', { model: { variant: 'mobilevit_xxs' }, image: { path } });

describe('service with a wedged engine', () => {
  it('fails a stuck request alone, then restarts an unresponsive engine and says so', async () => {
    expect(await predict('/ok.png')).toMatchObject({ ok: true });
    const pid = (await service.handle('app.info', {}) as any).result.engine.pid;

    const [hung, info] = await Promise.all([predict('/hang.png'), service.handle('app.info', {})]);
    expect(info.ok).toBe(true);
    expect(hung).toEqual({ ok: false, error: { code: 'failed', message: 'predict did not finish within 1 s and was cancelled' } });
    expect(await predict('/ok.png')).toMatchObject({ ok: true });

    const spun = await predict('/spin.png');
    expect(spun).toMatchObject({ ok: false, error: { message: expect.stringMatching(/did not finish within 1 s/) } });
    await expect.poll(() => events.find((e) => e.event === 'engine.status' && /stopped answering .* restarted/.test(e.payload.reason ?? '')), { timeout: 5000 }).toBeTruthy();
    const again = await predict('/ok.png');
    expect(again).toMatchObject({ ok: true });
    expect((again as any).result.top5[0].label).not.toBe(String(pid));
    const after = (await service.handle('app.info', {}) as any).result.engine;
    expect(after).toMatchObject({ state: 'ready', lastCrash: expect.stringMatching(/restarted/) });
  }, 30_000);
});
