// `npm run bench -- recipe`: does the data-dependent recipe (src/protocol/recipe.ts) reach the better figure on
// small framed images? Trains MobileViT-XXS at 32 px for 5 epochs on a small Fashion-MNIST subset (28-px
// grayscale, 10 classes; Debian's dataset-fashion-mnist) through the CLI, once with the new defaults and once
// with flags that reproduce the studio's recipe before it (random-resized crops of 8–100%, evaluation on the
// centre 90%, 1 epoch of warm-up, cosine floor 0.1), and reports both top-1s with the exact commands.
// It then checks that photo-like data (the same images, 4× larger than the training size) keeps random-resized
// crops and the centre crop, from the scan alone.
//
// Environment: RECIPE_BENCH_TRAIN (images per class, default 250), RECIPE_BENCH_VAL (default 60),
// RECIPE_BENCH_SEEDS (comma-separated, default 0,1), RECIPE_BENCH_BACKEND (default wasm),
// RECIPE_BENCH_ABLATE=1 (also: the new recipe with the old floor, and with the old evaluation crop),
// RECIPE_BENCH_PHOTO=1 (also train both recipes on the photo-like copy),
// FASHION_MNIST_DIR (default /usr/share/datasets/fashion-mnist).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { table } from '../src/cli/common.ts';
import { scanDataset } from '../src/data/scan.ts';
import { TrainSettings, type TrainEvent } from '../src/protocol/contract.ts';
import { datasetStats, resolveRecipe } from '../src/protocol/recipe.ts';
import { collect, jsonLines } from './child.ts';
import { writeResult } from './machine.ts';

const SOURCE = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const CLASSES = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];
const PER_CLASS_TRAIN = Number(process.env.RECIPE_BENCH_TRAIN ?? 250);
const PER_CLASS_VAL = Number(process.env.RECIPE_BENCH_VAL ?? 60);
const SEEDS = (process.env.RECIPE_BENCH_SEEDS ?? '0,1').split(',').map(Number);
const BACKEND = process.env.RECIPE_BENCH_BACKEND ?? 'wasm';
const ROOT = '/tmp/mobilevit-recipe-bench';

/** The IDX files' images ([n, 28, 28] bytes) and labels. */
function readIdx(images: string, labels: string): { pixels: Buffer; labels: Buffer; n: number } {
  const img = gunzipSync(readFileSync(join(SOURCE, images)));
  const lab = gunzipSync(readFileSync(join(SOURCE, labels)));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`${SOURCE}: not IDX image/label files`);
  return { pixels: img.subarray(16), labels: lab.subarray(8), n: img.readUInt32BE(4) };
}

/** Writes the first `perClass` images of each class as PNGs under dir/<class>/ (`scale`: upscaled copies). */
async function writeSplit(dir: string, idx: ReturnType<typeof readIdx>, perClass: number, scale = 1): Promise<void> {
  const count = new Array(10).fill(0);
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < idx.n && count.some((c) => c < perClass); i++) {
    const c = idx.labels[i];
    if (count[c] >= perClass) continue;
    const folder = join(dir, CLASSES[c]);
    mkdirSync(folder, { recursive: true });
    let p = sharp(Buffer.from(idx.pixels.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } });
    if (scale !== 1) p = p.resize(28 * scale, 28 * scale, { kernel: 'cubic' });
    jobs.push(p.png().toFile(join(folder, `${String(count[c]++).padStart(4, '0')}.png`)));
  }
  await Promise.all(jobs);
}

async function buildDataset(name: string, scale: number): Promise<string> {
  const dir = join(ROOT, `${name}-${PER_CLASS_TRAIN}-${PER_CLASS_VAL}`);
  if (existsSync(join(dir, '.done'))) return dir;
  if (!existsSync(join(SOURCE, 'train-images-idx3-ubyte.gz'))) {
    throw new Error(`Fashion-MNIST not found in ${SOURCE} (apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR)`);
  }
  rmSync(dir, { recursive: true, force: true });
  await writeSplit(join(dir, 'train'), readIdx('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'), PER_CLASS_TRAIN, scale);
  await writeSplit(join(dir, 'val'), readIdx('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'), PER_CLASS_VAL, scale);
  writeFileSync(join(dir, '.done'), '');
  return dir;
}

interface RunResult { data: string; recipe: string; seed: number; command: string; top1: number | null; bestTop1: number | null; explanation: string | null; seconds: number; error?: string }

async function train(args: string[]): Promise<{ events: TrainEvent[]; stderr: string; code: number | null }> {
  const { out, err, code } = await collect(process.execPath, [resolve('bin/mobilevit-studio.mjs'), 'train', ...args]);
  return { events: jsonLines<TrainEvent>(out), stderr: err, code };
}

const OLD_RECIPE = ['--crop-scale', '0.08,1', '--eval-crop', '0.9', '--warmup-epochs', '1', '--min-lr-ratio', '0.1'];

async function trainOne(data: string, recipe: string, extra: string[], seed: number): Promise<RunResult> {
  const runDir = join(ROOT, 'runs', `${recipe.replace(/[^a-z0-9]+/gi, '-')}-seed${seed}-${Date.now()}`);
  const args = ['--data', data, '--image-size', '32', '--epochs', '5', '--seed', String(seed), ...extra, '--backend', BACKEND, '--json', '--run-dir', runDir];
  const command = `node bin/mobilevit-studio.mjs train ${args.join(' ')}`;
  console.log(`$ ${command}`);
  const t0 = performance.now();
  const r = await train(args);
  const seconds = (performance.now() - t0) / 1000;
  const finished = r.events.find((e) => e.type === 'finished');
  const explanation = r.events.find((e): e is Extract<TrainEvent, { type: 'warning' }> => e.type === 'warning' && e.message.startsWith('recipe:'))?.message ?? null;
  const row: RunResult = {
    data: data.split('/').pop()!, recipe, seed, command, seconds, explanation,
    top1: finished?.type === 'finished' ? finished.val?.top1 ?? null : null,
    bestTop1: finished?.type === 'finished' ? finished.best?.top1 ?? null : null,
    ...(r.code !== 0 ? { error: r.stderr.trim().split('\n').pop() } : {}),
  };
  console.log(`  ${explanation ?? ''}\n  top-1 ${row.top1 ?? row.error} (${seconds.toFixed(0)} s)`);
  return row;
}

export async function benchRecipe(): Promise<{ runs: RunResult[]; photo: { explanation: string } }> {
  const data = await buildDataset('fashion28', 1);
  const photoData = await buildDataset('fashion112', 4);
  const configs: [string, string, string[]][] = [[data, 'new defaults', []], [data, 'old recipe', OLD_RECIPE]];
  if (process.env.RECIPE_BENCH_ABLATE === '1') {
    configs.push([data, 'new, old floor 0.1', ['--min-lr-ratio', '0.1']], [data, 'new, old eval crop 0.9', ['--eval-crop', '0.9']]);
  }
  if (process.env.RECIPE_BENCH_PHOTO === '1') configs.push([photoData, 'new defaults', []], [photoData, 'old recipe', OLD_RECIPE]);
  const runs: RunResult[] = [];
  for (const seed of SEEDS) for (const [d, recipe, extra] of configs) runs.push(await trainOne(d, recipe, extra, seed));
  console.log(table(['data', 'recipe', 'seed', 'top-1 (last)', 'top-1 (best)', 'seconds'],
    runs.map((r) => [r.data, r.recipe, r.seed, r.top1 === null ? (r.error ?? '–') : r.top1.toFixed(3), r.bestTop1 === null ? '–' : r.bestTop1.toFixed(3), Math.round(r.seconds)])));

  // Photo-like: the same images at 112 px (4× the training size): random-resized crops and the centre crop stay.
  const scan = await scanDataset(photoData, { verify: 'header' });
  const photo = resolveRecipe(TrainSettings.parse({ data: photoData, imageSize: 32, epochs: 5 }), datasetStats(scan));
  console.log(`\nphoto-like (${photoData}): ${photo.explanation}`);
  if (photo.settings.augmentation.cropScale[0] >= 1 || photo.settings.evalCrop >= 1) throw new Error('photo-like data lost its random-resized crops or centre crop');
  const result = { runs, photo: { explanation: photo.explanation } };
  writeResult('bench/results/recipe.json', result);
  return result;
}
