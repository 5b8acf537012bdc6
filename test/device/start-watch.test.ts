// A page device's start is watched for progress, not timed (issue 22 item 11): a start that keeps taking steps gets
// the time it needs however long that is, one that takes no step for the allowance fails naming the step it was
// in, a signal cancels it, and a start that takes long says each step. Fake timers: nothing waits for real.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartCancelled, StartWatch } from '../../src/device/start-watch.ts';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** A promise and its resolver. */
function later<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  return { promise: new Promise<T>((r) => (resolve = r)), resolve };
}

describe('StartWatch', () => {
  it('gives a start that keeps moving all the time it needs (ten times the allowance here)', async () => {
    const watch = new StartWatch({ what: 'webgpu in test', stallMs: 60_000 });
    const ready = later<string>();
    const outcome = watch.guard(ready.promise);
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(59_000);
      watch.stepTo(`step ${i}`);
    }
    ready.resolve('ready');
    await expect(outcome).resolves.toBe('ready');
    watch.end();
  });

  it('fails a start that takes no step for the allowance, naming the step it stopped in', async () => {
    const watch = new StartWatch({ what: 'webgpu in test', stallMs: 60_000 });
    const outcome = watch.guard(new Promise(() => undefined));
    const failed = expect(outcome).rejects.toThrow('webgpu in test did not start: no progress for 60 s (while creating the WebGPU device, 90 s in)');
    await vi.advanceTimersByTimeAsync(30_000);
    watch.stepTo('creating the WebGPU device');
    await vi.advanceTimersByTimeAsync(60_000);
    await failed;
  });

  it('is cancelled by its signal, before or during the start', async () => {
    const early = new AbortController();
    early.abort();
    await expect(new StartWatch({ what: 'webgl in test', stallMs: 60_000, signal: early.signal }).guard(new Promise(() => undefined)))
      .rejects.toThrow('starting webgl in test was cancelled (while starting, 0 s in)');
    const control = new AbortController();
    const watch = new StartWatch({ what: 'webgl in test', stallMs: 60_000, signal: control.signal });
    watch.stepTo('launching headless Chromium');
    const outcome = watch.guard(new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(5_000);
    control.abort();
    await expect(outcome).rejects.toBeInstanceOf(StartCancelled);
    await expect(outcome).rejects.toThrow('(while launching headless Chromium, 5 s in)');
  });

  it('says nothing for a quick start; a slow one says each step and, while one lasts, that it is still in it', async () => {
    const notes: string[] = [];
    const quick = new StartWatch({ what: 'webgpu in test', stallMs: 60_000, onNote: (n) => notes.push(n) });
    quick.stepTo('requesting a WebGPU adapter');
    await vi.advanceTimersByTimeAsync(2_000);
    quick.end();
    expect(notes).toEqual([]);

    const slow = new StartWatch({ what: 'webgpu in test', stallMs: 60_000, onNote: (n) => notes.push(n) });
    await vi.advanceTimersByTimeAsync(12_000);
    slow.stepTo('creating the WebGPU device');
    await vi.advanceTimersByTimeAsync(20_000);
    slow.end();
    await vi.advanceTimersByTimeAsync(60_000); // ended: no more notes, and no failure
    expect(notes).toEqual([
      'starting webgpu in test: creating the WebGPU device (12 s)',
      'starting webgpu in test: still creating the WebGPU device (30 s, 18 s in this step)',
    ]);
  });
});
