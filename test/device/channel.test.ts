// The page channel over a MessagePort-like end (what Electron's hidden window uses), against a scripted page on
// the other end of a real Node MessageChannel: the hello, replies, the page's {lost}, and a closed port.
import { describe, expect, it, vi } from 'vitest';
import { openPageDevice, pageChannel, portEndpoint, type PageChannel } from '../../src/device/channel.ts';
import { DeviceLostError } from '../../src/device/device.ts';
import { StartCancelled, StartWatch } from '../../src/device/start-watch.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import { MessageChannelMain, type FakePortMain } from '../electron/fixtures/fake-electron.ts';

/** Weights cross as a Map of typed arrays (structured clone keeps both). */
const WEIGHTS = new Map([['head.fc.weight', { shape: [2], data: Float32Array.of(1.5, -2) }]]);
const INFO: DeviceInfo = { name: 'webgl', tfBackend: 'webgl', host: 'test host', adapter: 'ANGLE (test)', software: false };

function connected(): { channel: PageChannel; page: FakePortMain } {
  const { port1, port2 } = new MessageChannelMain();
  return { channel: pageChannel(portEndpoint(port2, 'the port closed')), page: port1 };
}

const start = (release = vi.fn(async () => undefined), timeoutMs = 5000) => ({ backend: 'webgl', host: 'test host', timeoutMs, release });

/** A page that answers weights with WEIGHTS and close, and nothing else (a trainer-state call stays pending). */
function echo(page: FakePortMain): void {
  page.on('message', ({ data }: { data: { id: number; op: string } }) => {
    if (data.op === 'weights') page.postMessage({ id: data.id, ok: true, result: WEIGHTS });
    if (data.op === 'close') page.postMessage({ id: data.id, ok: true, result: null });
  });
  page.start();
}

describe('a device page over a MessagePort', () => {
  it('becomes a device on {ready}, and calls cross by structured clone (typed arrays stay typed)', async () => {
    const { channel, page } = connected();
    echo(page);
    page.postMessage({ ready: INFO });
    const release = vi.fn(async () => undefined);
    const device = await openPageDevice(channel, start(release));
    expect(device.info).toEqual(INFO);
    const out = await device.call({ op: 'weights', weights: 'live' });
    expect(out).toBeInstanceOf(Map);
    expect(out.get('head.fc.weight')!.data).toBeInstanceOf(Float32Array);
    expect(out).toEqual(WEIGHTS);
    await device.close();
    expect(release).toHaveBeenCalledTimes(1);
  });

  it("rejects with the page's reason on {failed}, and releases its host", async () => {
    const { channel, page } = connected();
    page.postMessage({ failed: 'WebGPU has no adapter on this machine' });
    const release = vi.fn(async () => undefined);
    await expect(openPageDevice(channel, start(release))).rejects.toThrow('webgl cannot be used in test host: WebGPU has no adapter on this machine');
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('rejects when the port closes before the hello, or the page takes no step of its start in time', async () => {
    const a = connected();
    a.page.close();
    await expect(openPageDevice(a.channel, start())).rejects.toThrow('went away before it started: the port closed');
    const b = connected();
    const release = vi.fn(async () => undefined);
    await expect(openPageDevice(b.channel, start(release, 50))).rejects.toThrow('webgl in test host did not start: no progress for 0.05 s');
    expect(release).toHaveBeenCalledTimes(1);
  });

  it("hears the page's start steps: a slow start says them, a stalled one names the step it stopped in", async () => {
    const { channel, page } = connected();
    const notes: string[] = [];
    let heard!: () => void;
    const stepHeard = new Promise<void>((resolve) => (heard = resolve));
    const watch = new StartWatch({ what: 'webgl in test host', stallMs: 3000, noteAfterMs: 0, onNote: (n) => (notes.push(n), n.includes('creating the WebGPU device') && heard()) });
    const opened = openPageDevice(channel, { ...start(), watch });
    page.postMessage({ starting: 'creating the WebGPU device' });
    await stepHeard;
    await expect(opened).rejects.toThrow('no progress for 3 s (while creating the WebGPU device');
    expect(notes[0]).toMatch(/^starting webgl in test host: waiting for the device page to set up its backend/);
  });

  it('is cancelled by its signal, and releases its host', async () => {
    const { channel } = connected();
    const control = new AbortController();
    const release = vi.fn(async () => undefined);
    const opened = openPageDevice(channel, { ...start(release), signal: control.signal });
    control.abort();
    await expect(opened).rejects.toBeInstanceOf(StartCancelled);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('fails a pending call when the port closes, and every later call at once', async () => {
    const { channel, page } = connected();
    echo(page);
    page.postMessage({ ready: INFO });
    const device = await openPageDevice(channel, start());
    const pending = device.call({ op: 'trainer-state' });
    page.close();
    await expect(pending).rejects.toThrow(DeviceLostError);
    await expect(pending).rejects.toThrow('the webgl device (test host) was lost during trainer-state: the port closed');
    await expect(device.call({ op: 'info' })).rejects.toThrow('lost during info');
  });

  it("fails a pending call with the page's {lost} reason, or one learnt elsewhere (fail)", async () => {
    const a = connected();
    a.page.postMessage({ ready: INFO });
    const lost = await openPageDevice(a.channel, start());
    const p = lost.call({ op: 'trainer-state' });
    a.page.postMessage({ lost: 'the GPU device was lost: reset' });
    await expect(p).rejects.toThrow('lost during trainer-state: the GPU device was lost: reset');

    const b = connected();
    b.page.postMessage({ ready: INFO });
    const failed = await openPageDevice(b.channel, start());
    const q = failed.call({ op: 'trainer-state' });
    b.channel.fail("the hidden window's renderer is gone (crashed, exit code 139)");
    await expect(q).rejects.toThrow("lost during trainer-state: the hidden window's renderer is gone (crashed, exit code 139)");
  });

  it('tells a close listener that comes after the close', () => {
    const { channel } = connected();
    channel.fail('gone early');
    const heard: string[] = [];
    channel.onClose((why) => heard.push(why));
    expect(heard).toEqual(['gone early']);
  });
});
