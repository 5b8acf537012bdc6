// `npm run bench -- zoo`: quick fine-tuning (train --head-only) against training from scratch.
//
// 1. Speed at the size: 1,000 images at 224 px (4 classes, 800 train + 200 val), from `train` to a
//    saved, evaluated model, through the CLI. The backbone's weights are the XXS fixture's (the real Hub could
//    not be reached here), which costs the same time as ImageNet weights.
// 2. Transfer: MobileViT-XXS trained on 4 hues (at 32 px) is the backbone for 4 other hues; a quick head-only run
//    is compared with training everything from scratch for about the same time, and with a head on a random
//    backbone. The data is generated (coloured shapes on noise), so the figures are about the mechanism, not
//    about ImageNet features.
//
// Environment: ZOO_BENCH_BACKEND (default wasm), ZOO_BENCH_IMAGES (default 1000), ZOO_BENCH_SKIP_SPEED=1.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { table } from '../src/cli/common.ts';
import type { TrainEvent } from '../src/protocol/contract.ts';
import { writeResult } from './machine.ts';
import { hueDataset as writeHueDataset } from '../test/helpers/dataset.ts';

const BACKEND = process.env.ZOO_BENCH_BACKEND ?? 'wasm';
const IMAGES = Number(process.env.ZOO_BENCH_IMAGES ?? 1000);
const ROOT = '/tmp/mobilevit-zoo-bench';
const FIXTURE = resolve('test/fixtures/mobilevit_xxs_256_b1_c1000.weights.safetensors');

/** The transfer task's generated data (test/helpers/dataset.ts), built once into `dir`. */
async function hueDataset(dir: string, hues: number[], perClass: number, valPerClass: number, size: number, seed: number): Promise<string> {
  if (existsSync(join(dir, '.done'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  await writeHueDataset(dir, hues, perClass, valPerClass, size, seed);
  writeFileSync(join(dir, '.done'), '');
  return dir;
}

interface Run { label: string; command: string; seconds: number; top1: number | null; weights: string | null; featureSeconds?: number }

function cli(label: string, args: string[]): Promise<Run> {
  const command = `mobilevit-studio ${args.join(' ')}`;
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [resolve('bin/mobilevit-studio.mjs'), ...args, '--json', '--backend', BACKEND], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) { fail(new Error(`${command}: exit ${code}\n${err.slice(-2000)}`)); return; }
      const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TrainEvent & { time: number });
      const fin = events.find((e) => e.type === 'finished') as Extract<TrainEvent, { type: 'finished' }> | undefined;
      const started = events.find((e) => e.type === 'started');
      const firstStep = events.find((e) => e.type === 'step');
      done({
        label, command, seconds, top1: fin?.best?.top1 ?? fin?.val?.top1 ?? null, weights: fin?.weights ?? null,
        ...(started && firstStep ? { featureSeconds: (firstStep.time - started.time) / 1000 } : {}),
      });
    });
  });
}

export async function benchZoo(): Promise<unknown> {
  mkdirSync(ROOT, { recursive: true });
  const ws = join(ROOT, 'ws');
  rmSync(ws, { recursive: true, force: true });
  const runs: Run[] = [];
  if (!process.env.ZOO_BENCH_SKIP_SPEED) {
    const perClass = Math.round(IMAGES / 4);
    const big = await hueDataset(join(ROOT, `speed-${IMAGES}`), [30, 120, 210, 300], Math.round(perClass * 0.8), Math.round(perClass * 0.2), 256, 7);
    runs.push(await cli(`quick fine-tune, ${IMAGES} images at 224 px`, ['train', '--data', big, '--workspace', ws, '--head-only', '--weights', FIXTURE, '--variant', 'mobilevit_xxs', '--image-size', '224', '--epochs', '10', '--lr', '0.01', '--batch-size', '32']));
  }
  const source = await hueDataset(join(ROOT, 'source'), [0, 90, 180, 270], 40, 10, 40, 1);
  const target = await hueDataset(join(ROOT, 'target'), [45, 135, 225, 315], 20, 15, 40, 2);
  const pre = await cli('pretrain on 4 source hues (32 px, 6 epochs)', ['train', '--data', source, '--workspace', ws, '--image-size', '32', '--epochs', '6', '--batch-size', '16', '--lr', '0.004', '--seed', '1']);
  runs.push(pre);
  const common = ['--data', target, '--workspace', ws, '--image-size', '32', '--batch-size', '16', '--seed', '2'];
  runs.push(await cli('target: quick head on the pretrained backbone (15 epochs)', ['train', ...common, '--head-only', '--weights', pre.weights!, '--epochs', '15', '--lr', '0.01']));
  runs.push(await cli('target: quick head on a random backbone (15 epochs)', ['train', ...common, '--head-only', '--epochs', '15', '--lr', '0.01']));
  runs.push(await cli('target: everything from scratch (3 epochs)', ['train', ...common, '--epochs', '3', '--lr', '0.004']));
  runs.push(await cli('target: everything from scratch (15 epochs)', ['train', ...common, '--epochs', '15', '--lr', '0.004']));
  console.log(table(['run', 'seconds', 'to first step s', 'best val top-1'],
    runs.map((r) => [r.label, r.seconds.toFixed(1), r.featureSeconds !== undefined ? r.featureSeconds.toFixed(1) : '', r.top1 === null ? '–' : `${(r.top1 * 100).toFixed(1)} %`])));
  for (const r of runs) console.log(`  ${r.command}`);
  const result = { backend: BACKEND, runs };
  writeResult('bench/results/zoo.json', result);
  return result;
}
