// What a source checkout builds, when each output is stale, and the build that refreshes it: the one place that
// knows it. `npm start` (scripts/start.mjs), `mobilevit-studio serve` and the end-to-end tests build on demand
// through it, so a fresh `npm ci` needs no `npm run build` before any documented command.
// This module touches files and spawns the build tools; it never loads a tensor backend.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPILED_DIRS = ['dist-electron', 'dist-cli'];
/**
 * The repository root (this file lives in src/build/), or the app's root when this file runs compiled into
 * dist-electron/src/build/ (Electron from a checkout, or the packaged app) or dist-cli/src/build/ (the compiled
 * CLI): the built folders sit beside dist-electron/ and dist-cli/, not in them.
 */
export const ROOT = appRoot(fileURLToPath(new URL('../..', import.meta.url)));

export function appRoot(dir: string): string {
  const trimmed = dir.replace(/[\\/]+$/, '');
  return COMPILED_DIRS.includes(basename(trimmed)) ? dirname(trimmed) : trimmed;
}

export interface BuildTarget {
  /** Says what is being built, in a user's words. */
  label: string;
  /** The file whose modification time stands for the whole output, relative to the root. */
  output: string;
  /** Files and folders it is built from, relative to the root. */
  sources: string[];
  /** The node script (relative to the root) and its arguments; `outDir` is set for targets built aside and swapped in. */
  command: (outDir?: string) => string[];
  /** The folder that is built aside and swapped in whole, so a reader never sees half a build. */
  swapDir?: string;
}

const VITE = ['node_modules', 'vite', 'bin', 'vite.js'].join('/');
const TSC = ['node_modules', 'typescript', 'bin', 'tsc'].join('/');

/** The window: the Svelte renderer bundled by vite into dist-renderer/ (loaded by Electron, served by `serve`). */
export const RENDERER: BuildTarget = {
  label: "building the window's files (vite build)",
  output: 'dist-renderer/index.html',
  sources: ['renderer', 'src/protocol', 'vite.config.ts', 'package-lock.json'],
  command: (outDir) => [VITE, 'build', '--logLevel', 'warn', ...(outDir ? ['--outDir', outDir] : [])],
  swapDir: 'dist-renderer',
};

/** The Electron main process and the engine, compiled by tsc into dist-electron/. */
export const ELECTRON_MAIN: BuildTarget = {
  label: 'compiling the main process and engine (tsc)',
  output: 'dist-electron/electron/main.js',
  sources: ['electron', 'src'],
  command: () => [TSC, '-p', 'electron/tsconfig.json'],
};

/**
 * The CLI: src/ transpiled file by file into dist-cli/ (bin/mobilevit-studio.mjs runs it, building it on first use
 * and when a source is newer; tsx runs the sources only when it cannot be built).
 */
export const CLI: BuildTarget = {
  label: 'compiling the command line (scripts/build-cli.mjs)',
  output: 'dist-cli/src/cli/main.js',
  sources: ['src', 'scripts/build-cli.mjs'],
  command: (outDir) => ['scripts/build-cli.mjs', ...(outDir ? [outDir] : [])],
  swapDir: 'dist-cli',
};

/** The preloads (the window's, the hidden device window's), bundled by vite into dist-electron/electron/*.cjs. */
export const PRELOAD: BuildTarget = {
  label: 'bundling the preloads (vite build)',
  output: 'dist-electron/electron/preload.cjs',
  sources: ['electron/preload.ts', 'electron/device-preload.ts', 'electron/vite.preload.config.ts', 'src/protocol/names.ts', 'src/device/window-messages.ts', 'src/backend/names.ts'],
  command: () => [VITE, 'build', '-c', 'electron/vite.preload.config.ts', '--logLevel', 'warn'],
};

/**
 * The compute device page (src/device/page/): the model, training step and inspection code bundled with TF.js's
 * webgpu, webgl and wasm backends into dist-device/, for headless Chromium and Electron's hidden window.
 */
export const DEVICE_PAGE: BuildTarget = {
  label: 'bundling the compute device page (vite build)',
  output: 'dist-device/index.html',
  sources: ['src/device', 'src/model', 'src/optim', 'src/inspect', 'src/backend', 'src/util', 'package-lock.json'],
  command: (outDir) => [VITE, 'build', '-c', 'src/device/page/vite.config.ts', '--logLevel', 'warn', ...(outDir ? ['--outDir', outDir] : [])],
  swapDir: 'dist-device',
};

/**
 * The studio's WebAssembly SIMD kernels (src/backend/kernels/*.c), compiled by clang into dist-kernels/ for TF.js's
 * wasm backend in Node (src/backend/wasm-simd-kernels.ts builds them on first use where clang is installed).
 */
export const WASM_KERNELS: BuildTarget = {
  label: "compiling the studio's wasm SIMD kernels (clang)",
  output: 'dist-kernels/kernels.wasm',
  sources: ['src/backend/kernels', 'scripts/build-kernels.mjs'],
  command: (outDir) => ['scripts/build-kernels.mjs', ...(outDir ? [outDir] : [])],
  swapDir: 'dist-kernels',
};

/** Newest modification time of the files under the given paths (0 when none exist). */
export function newestMtime(paths: string[]): number {
  let t = 0;
  const walk = (p: string): void => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else t = Math.max(t, st.mtimeMs);
  };
  paths.forEach(walk);
  return t;
}

/** Why the target needs building ('missing' or 'stale'), or null when its output is newer than every source. */
export function needsBuild(target: BuildTarget, root = ROOT): 'missing' | 'stale' | null {
  const output = join(root, target.output);
  if (!existsSync(output)) return 'missing';
  return statSync(output).mtimeMs < newestMtime(target.sources.map((s) => join(root, s))) ? 'stale' : null;
}

export interface EnsureOptions {
  root?: string;
  /** Receives the progress lines (a start line, then the time it took). */
  log?: (line: string) => void;
  /** Receives the build tool's own output (warnings, errors); default: this process's stderr. */
  toolOutput?: (chunk: string) => void;
}

/**
 * Builds the target when its output is missing or older than its sources; returns whether it built.
 * A swapped target is built into a sibling folder and renamed into place, so a concurrent reader (a running
 * server, another build) never sees it half written; its output is stamped with the build's start time, so a
 * source edited during the build still counts as newer. Throws with the tool's exit status when it fails.
 */
export async function ensureBuilt(target: BuildTarget, opts: EnsureOptions = {}): Promise<boolean> {
  const root = opts.root ?? ROOT;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const why = needsBuild(target, root);
  if (!why) return false;
  const [script, ...rest] = target.command();
  if (!existsSync(join(root, script))) {
    throw new Error(
      `${target.output} is ${why} and ${script} is not installed (a development dependency): run \`npm install\` in ${root}, then try again`,
    );
  }
  const started = Date.now();
  const aside = target.swapDir ? join(root, `${target.swapDir}.building-${process.pid}-${started}`) : undefined;
  log(`${target.label}: ${target.output} is ${why}…`);
  try {
    await runNode(root, target.command(aside), opts.toolOutput);
    if (target.swapDir && aside) swapIn(join(root, target.swapDir), aside);
    const out = join(root, target.output);
    utimesSync(out, started / 1000, started / 1000);
  } finally {
    if (aside) rmSync(aside, { recursive: true, force: true });
  }
  log(`${target.label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

function runNode(cwd: string, args: string[], toolOutput?: (chunk: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (c: Buffer): void => {
      const s = c.toString('utf8');
      tail = (tail + s).slice(-4000);
      if (toolOutput) toolOutput(s);
      else process.stderr.write(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const last = tail.trim().split('\n').filter(Boolean).pop() ?? '';
        reject(new Error(`\`node ${args.join(' ')}\` failed (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}`));
      }
    });
  });
}

/** Replaces `dir` with `built` by two renames; the old folder is removed after. */
function swapIn(dir: string, built: string): void {
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  if (existsSync(dir)) renameSync(dir, old);
  try {
    renameSync(built, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Another build of the same sources landed between the two renames: keep it.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
      if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
      throw e;
    }
  }
  rmSync(old, { recursive: true, force: true });
}
