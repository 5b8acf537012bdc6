// Nothing wedges: a call that cannot finish fails alone after its timeout (or when its caller gives up), the
// engine keeps serving, and an engine that stops answering pings is restarted, saying so.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineHandle, type EngineEvent } from '../../src/service/engine-handle.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import type { ClassPredictResult } from '../../src/protocol/inspection.ts';

const STUCK = fileURLToPath(new URL('./fixtures/stuck-engine.ts', import.meta.url));
const model = { kind: 'weights' as const, variant: 'mobilevit_xxs' as const };
let host: EngineHandle | undefined;

// A busy test machine may delay a healthy engine's pong: only the restart test uses a short ping bound.
function start(pingTimeoutMs = 10_000): { host: EngineHandle; events: EngineEvent[] } {
  host = new EngineHandle(() => forkEngine(STUCK), () => 'cpu', { timeoutsMs: { predict: 800 }, pingTimeoutMs });
  const events: EngineEvent[] = [];
  host.onEvent((e) => events.push(e));
  return { host, events };
}
const predict = async (h: EngineHandle, path: string, signal?: AbortSignal) => (await h.call('predict', { model, image: { path } }, { signal })) as ClassPredictResult;

afterEach(() => host?.close());

describe('engine requests never wedge', () => {
  it('a call that never settles times out alone; the queue moves on and the same engine answers', async () => {
    const { host } = start();
    const first = await predict(host, '/ok.png');
    const pid = host.pid;
    const t0 = Date.now();
    await expect(predict(host, '/hang.png')).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^predict did not finish within 0\.8 s and was cancelled$/) });
    expect(Date.now() - t0).toBeLessThan(3000);
    const after = await predict(host, '/ok.png');
    expect(after.top5[0].label).toBe(first.top5[0].label);
    expect(host.pid).toBe(pid);
    expect(host.state).toBe('ready');
    expect(await host.ping(10_000)).toBe(true);
  });

  it('a caller that gives up cancels its call at once, and the next call is served', async () => {
    const { host } = start();
    await predict(host, '/ok.png');
    const ac = new AbortController();
    const hung = predict(host, '/hang.png', ac.signal);
    setTimeout(() => ac.abort(), 100);
    await expect(hung).rejects.toMatchObject({ message: 'predict was cancelled' });
    await expect(predict(host, '/ok.png')).resolves.toMatchObject({ imageSize: 32 });
  });

  it('an engine that stops answering pings is restarted, says so, and serves again', async () => {
    const { host, events } = start(800);
    await predict(host, '/ok.png');
    const pid = host.pid;
    await expect(predict(host, '/spin.png')).rejects.toMatchObject({ message: expect.stringMatching(/did not finish within/) });
    await expect.poll(() => events.some((e) => e.kind === 'crashed'), { timeout: 5000 }).toBe(true);
    const crash = events.find((e) => e.kind === 'crashed') as Extract<EngineEvent, { kind: 'crashed' }>;
    expect(crash.reason).toMatch(/stopped answering \(no reply to a ping within 0\.8 s\) and was restarted/);
    expect(events.some((e) => e.kind === 'status' && e.state === 'crashed' && /restarted/.test(e.reason ?? ''))).toBe(true);
    const again = await predict(host, '/ok.png');
    expect(again.top5[0].label).not.toBe(String(pid));
    expect(host.pid).not.toBe(pid);
    expect(host.lastCrash).toMatch(/restarted/);
  });
});
