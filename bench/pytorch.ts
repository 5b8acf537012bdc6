// PyTorch beside the studio in `npm run bench -- zoo` (issue 21: "no slower than PyTorch extracting the same
// features and training the same head on the same machine"). Finds a python with torch, torchvision and timm,
// and runs bench/pytorch_quick.py (the zoo's quick fine-tune) or bench/pytorch_train.py (the speed bench's
// training step) in a child process.
//
// Which python: `python3` on PATH, then Debian's /usr/bin/python3 (where python3-torch installs), the first that
// imports torch, torchvision and timm. timm is not packaged by Debian: where torch and torchvision import but timm
// does not, it is installed without dependencies (its own import needs only what Debian ships) into the bench's
// cache, on the child's PYTHONPATH only. Debian's torch calls the system's libblas.so.3, by default the reference
// BLAS (about 6x slower on MobileViT's attention here); where libopenblas0-pthread is installed, the child loads
// OpenBLAS through LD_LIBRARY_PATH whatever the system's alternative says, as a PyTorch user would have it.
// OMP_WAIT_POLICY=PASSIVE: torch's idle OpenMP threads otherwise spin on the 2 cores that OpenBLAS's threads
// need (measured at load 5: 16 images at 224 px in 0.5 s passive against 1.5-3 s spinning).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { collect, jsonLines } from './child.ts';

const PYTHONS = ['python3', '/usr/bin/python3'];
/** A timm that builds mobilevit_xxs on Debian bookworm's torch 1.13 (the fixtures' timm, test/fixtures/README.md). */
const TIMM = 'timm==1.0.29';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

export interface Python {
  python: string;
  env: Record<string, string>;
  /** What the table says ran: the interpreter, the library path, the BLAS. */
  description: string;
}

function importError(python: string, env: Record<string, string>): string | null {
  const r = spawnSync(python, ['-c', 'import torch, torchvision, timm'], { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.status === 0 ? null : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').at(-1)!;
}

/**
 * OpenBLAS's OpenMP build for the training step (issue 23 names it: Debian's torch is built with OpenMP, and the
 * pthread build's threads then compete with torch's own): Debian's libopenblas0-openmp, fetched with
 * `apt-get download` and unpacked with `dpkg -x` into `cache` (nothing installed system-wide); its libblas.so.3
 * folder, or why there is none.
 */
export function openblasOpenmp(cache: string): { dir: string } | { missing: string } {
  const root = join(cache, 'openblas-openmp');
  const dir = join(root, 'usr/lib/x86_64-linux-gnu/openblas-openmp');
  if (existsSync(join(dir, 'libblas.so.3'))) return { dir };
  mkdirSync(root, { recursive: true });
  const download = spawnSync('apt-get', ['download', 'libopenblas0-openmp'], { cwd: root, encoding: 'utf8' });
  const deb = readdirSync(root).find((f) => /^libopenblas0-openmp_.*\.deb$/.test(f));
  if (!deb) return { missing: `apt-get download libopenblas0-openmp: ${(download.stderr || download.error?.message || `exit ${download.status}`).trim().split('\n').at(-1)}` };
  const unpack = spawnSync('dpkg', ['-x', deb, '.'], { cwd: root, encoding: 'utf8' });
  return existsSync(join(dir, 'libblas.so.3')) ? { dir } : { missing: `dpkg -x ${deb}: ${(unpack.stderr || `exit ${unpack.status}`).trim()}` };
}

/**
 * The python to measure with, or why there is none (each candidate's last import error). `blas`: the folder of
 * the libblas.so.3 to load (default: Debian's OpenBLAS pthread build where installed).
 */
export function findPython(cache: string, blas?: string): Python | { missing: string } {
  const site = join(cache, 'python');
  const openblas = blas ?? (existsSync(join(OPENBLAS, 'libblas.so.3')) ? OPENBLAS : undefined);
  const env: Record<string, string> = { PYTHONPATH: site, ...(openblas ? { LD_LIBRARY_PATH: openblas } : {}) };
  const why: string[] = [];
  for (const python of PYTHONS) {
    let error = importError(python, env);
    if (error && /No module named 'timm'/.test(error)) {
      const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--no-deps', '--target', site, TIMM], { encoding: 'utf8' });
      error = pip.status === 0 ? importError(python, env) : `pip install ${TIMM}: ${(pip.stderr || pip.error?.message || '').trim().split('\n').at(-1)}`;
    }
    if (!error) {
      const blasSaid = openblas ? `OpenBLAS from ${openblas}` : 'the system libblas.so.3 (apt-get install libopenblas0-pthread for OpenBLAS)';
      return { python, env, description: `${python}, timm from ${site} if not installed, ${blasSaid}` };
    }
    why.push(`${python}: ${error}`);
  }
  return { missing: `PyTorch not measured: no python here imports torch, torchvision and timm (apt-get install python3-torch python3-torchvision; timm is then installed into ${site}): ${why.join('; ')}` };
}

/** A child running one of the bench's PyTorch scripts (paths from the repository root, where the bench runs) on `threads`: its JSON line, its process time and command. */
async function runScript<T>(py: Python, script: string, args: string[], threads: number): Promise<T & { processSeconds: number; command: string }> {
  const env = { ...py.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' };
  const command = `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${py.python} ${[script, ...args].join(' ')}`;
  const { out, err, code, seconds } = await collect(py.python, [script, ...args], env);
  const [answer] = jsonLines<T>(out);
  if (code !== 0 || !answer) throw new Error(`${command}: exit ${code}\n${err.slice(-2000)}`);
  return { ...answer, processSeconds: seconds, command };
}

export interface PytorchQuick {
  torch: string; timm: string; threads: number;
  /** In the script: from the first image read to the trained head, and its parts. */
  seconds: number; featureSeconds: number; headSeconds: number;
  top1: number; rows: number; weightDecay: number; iterations: number;
  /** The child process from spawn to exit: interpreter start, imports and model build included, as the CLI's time. */
  processSeconds: number;
  /** The child's command line with the environment it was given beyond the bench's. */
  command: string;
}

/**
 * The quick fine-tune in PyTorch on `data` (train/ and val/ class folders) with the backbone of `weights`, at
 * `size` px through the evaluation transform (centre `crop`, `interpolation`), mirrors with `flip`, on `threads`.
 */
export function pytorchQuick(py: Python, data: string, weights: string, size: number, crop: number, interpolation: string, flip: boolean, threads = 2, seed = 0): Promise<PytorchQuick> {
  return runScript(py, 'bench/pytorch_quick.py', [data, weights, String(size), String(crop), interpolation, flip ? '1' : '0', String(threads), String(seed)], threads);
}

export interface PytorchTrain {
  torch: string; timm: string; threads: number;
  medianMs: number; imagesPerSec: number; times: number[];
  processSeconds: number; command: string;
}

/** MobileViT-XXS optimizer steps in PyTorch at `size` px, batch `batch` (bench/pytorch_train.py): the median after the warm-up. */
export function pytorchTrain(py: Python, size: number, batch: number, steps: number, warmup: number, threads = 2): Promise<PytorchTrain> {
  return runScript(py, 'bench/pytorch_train.py', [String(size), String(batch), String(steps), String(warmup), String(threads)], threads);
}
