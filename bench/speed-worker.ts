// One training configuration of the speed section in its own process (spawned by bench/speed.ts), so that its
// peak memory is its own:
//   node bin/run-ts.mjs bench/speed-worker.ts '{"backend":"wasm-workers","size":128,"batch":32,"runs":3,"warmup":1}'
// Times XXS optimizer steps through the `bench` command's measurement (train/speed.ts measureSpeed) on the device
// `backend` names, then prints one JSON line: SpeedJobResult or { error }.
import { chooseDevice } from '../src/device/choice.ts';
import { deviceDeps } from '../src/engine/devices.ts';
import { measureSpeed } from '../src/train/speed.ts';

export interface SpeedJob { backend: string; size: number; batch: number; runs: number; warmup: number }
export interface SpeedJobResult {
  workers: number; medianMs: number; imagesPerSec: number; times: number[];
  /** This process's resident memory once the device is open, before the model: Node, TF.js, the wasm instance(s). */
  rssBeforeMb: number;
  /** Its peak resident memory over the whole run (getrusage's maxRSS: every thread, worker threads included). */
  peakRssMb: number;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

async function measure(job: SpeedJob): Promise<SpeedJobResult> {
  const { device } = await chooseDevice(job.backend, { deps: deviceDeps() });
  try {
    const rssBeforeMb = mb(process.memoryUsage().rss);
    const r = await measureSpeed({ variant: 'mobilevit_xxs', mode: 'training', imageSize: job.size, batchSize: job.batch, runs: job.runs, warmup: job.warmup }, undefined, device);
    // maxRSS is in kilobytes.
    return { workers: r.workers, medianMs: r.medianMs, imagesPerSec: r.imagesPerSec, times: r.times.map((t) => Math.round(t)), rssBeforeMb, peakRssMb: mb(process.resourceUsage().maxRSS * 1024) };
  } finally {
    await device.close();
  }
}

try {
  console.log(JSON.stringify(await measure(JSON.parse(process.argv[2]) as SpeedJob)));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message.split('\n')[0] }));
}
