// Training on a Chromium page device is the same training as in this process: the run on webgpu (Debian's
// headless Chromium, SwiftShader's software adapter here: exact, slow) starts from wasm's first step within
// GPU float and follows wasm's run; a run paused on webgpu resumes on wasm exactly where it stopped.
// Shapes are kept few (one batch size, one resolution, the evaluation batch the same): every new shape
// compiles shaders, which takes SwiftShader tens of seconds.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { openChromiumDevice, findChromium } from '../../src/device/chromium.ts';
import type { ChannelDevice } from '../../src/device/device.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { readRun } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { steps, tinyDataset, tinyRun } from '../train/helpers.ts';

const chromium = (() => { try { return findChromium(); } catch { return null; } })();

describe.skipIf(!chromium || !existsSync(chromium))('training on a webgpu page device', () => {
  let data: string;
  let gpu: ChannelDevice;
  // 2 classes × 6 training images, batch 4: three full batches an epoch; 2 × 2 validation images, one batch of 4.
  const settings = { imageSize: 32, batchSize: 4, epochs: 3, lr: 0.004, seed: 11, valFraction: 0.25, multiScale: false, variant: 'mobilevit_xxs' as const };
  let wasm: Awaited<ReturnType<typeof train>>;
  let webgpu: Awaited<ReturnType<typeof train>>;
  const train = async (device?: ChannelDevice, pauseAt?: number) => {
    const { dir } = tinyRun(data, settings);
    const events: TrainEvent[] = [];
    const control = new AbortController();
    const outcome = await runTraining(dir, {
      device, signal: control.signal, onEvent: (e) => events.push(e),
      afterStep: ({ step }) => { if (step === pauseAt) control.abort('pause'); },
    });
    return { dir, events, outcome };
  };

  beforeAll(async () => {
    await initBackend('wasm');
    data = await tinyDataset({ classes: 2, perClass: 8 });
    gpu = await openChromiumDevice('webgpu');
  }, 120_000);
  afterAll(async () => { await gpu?.close(); });

  it('starts where wasm starts (first step within 1e-4) and follows its run (every step within 0.25, validation within 0.1)', async () => {
    wasm = await train();
    webgpu = await train(gpu);
    expect(webgpu.outcome.status, webgpu.outcome.error ?? '').toBe('finished');
    expect(wasm.outcome.status).toBe('finished');
    expect(readRun(webgpu.dir).backend).toBe('webgpu');
    const [a, b] = [steps(wasm.events), steps(webgpu.events)];
    expect(b.length).toBe(a.length);
    expect(b.length).toBe(9);
    // The first step sees the same weights: GPU float alone. Later steps cannot be compared one to one: AdamW's
    // first updates are close to lr × sign(gradient), so float noise in near-zero gradients flips whole updates
    // (measured: steps agree to 1e-3 until step 5, then drift by a few %). They stay in the same range.
    expect(Math.abs(b[0].loss - a[0].loss)).toBeLessThan(1e-4);
    for (let i = 0; i < a.length; i++) {
      expect(Number.isFinite(b[i].loss)).toBe(true);
      expect(Math.abs(b[i].loss - a[i].loss), `step ${i + 1}`).toBeLessThan(0.25);
    }
    // Their validation agrees. Whether 9 steps of 12 images lower the training loss at all depends on the seed's
    // draws (the dropout masks changed in issue 23 and the webgpu run then ended at 0.721 from 0.694): that wasm
    // training learns is the learning tests' claim (test/train/), this one's that webgpu follows wasm's run.
    const epochs = (e: TrainEvent[]) => e.filter((x): x is Extract<TrainEvent, { type: 'epoch' }> => x.type === 'epoch');
    const [ea, eb] = [epochs(wasm.events), epochs(webgpu.events)];
    expect(eb.length).toBe(ea.length);
    expect(Math.abs(eb.at(-1)!.val!.loss - ea.at(-1)!.val!.loss)).toBeLessThan(0.1);
  }, 900_000);

  it('pauses on webgpu and resumes on wasm where it stopped (after the first test: it compares with its runs)', async () => {
    const paused = await train(gpu, 4);
    expect(paused.outcome.status).toBe('paused');
    // The paused run took webgpu's steps: those of the uninterrupted webgpu run.
    steps(paused.events).forEach((s, i) => expect(Math.abs(s.loss - steps(webgpu.events)[i].loss), `step ${s.step}`).toBeLessThan(1e-5));
    const resumed: TrainEvent[] = [];
    const outcome = await runTraining(paused.dir, { onEvent: (e) => resumed.push(e) }); // this process: wasm
    expect(outcome.status, outcome.error ?? '').toBe('finished');
    expect(resumed[0]).toMatchObject({ type: 'started', resumed: true, step: 4, backend: 'wasm' });
    const after = steps(resumed);
    expect(after.map((s) => s.step)).toEqual([5, 6, 7, 8, 9]);
    // Step 5's loss is computed from the weights webgpu left after step 4 (before wasm updates anything): the
    // uninterrupted webgpu run's step 5, within GPU float.
    const next = steps(webgpu.events)[4];
    expect(Math.abs(after[0].loss - next.loss)).toBeLessThan(1e-4 * Math.max(1, next.loss));
  }, 900_000);
});
