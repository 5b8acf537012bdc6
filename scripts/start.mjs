#!/usr/bin/env node
// `npm start`: builds what is missing or stale, then opens the desktop window. Where Electron's binary
// is not installed (it downloads on first use, impossible offline), says so in one line, how to fix it,
// and starts the browser mode instead. It finds the binary the way the electron package does, without
// require('electron'), which would try to download it.
//   npm start [-- serve flags]       e.g. npm start -- --port 8080 --no-open (browser mode)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (...p) => join(root, ...p);

export function electronBinary(env = process.env) {
  const pkgDir = at('node_modules', 'electron');
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const candidate = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron')
    : rel && join(pkgDir, 'dist', rel);
  return candidate && existsSync(candidate) ? candidate : null;
}

/** Newest modification time of the files under the given folders (0 when none exist). */
function newest(paths) {
  let t = 0;
  const walk = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else t = Math.max(t, st.mtimeMs);
  };
  paths.forEach(walk);
  return t;
}

function stale(output, sources) {
  return !existsSync(output) || statSync(output).mtimeMs < newest(sources);
}

function run(label, script, args) {
  process.stderr.write(`npm start: ${label}…\n`);
  const r = spawnSync(process.execPath, [at(...script), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`npm start: ${label} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

function buildRenderer() {
  if (stale(at('dist-renderer', 'index.html'), [at('renderer'), at('src', 'protocol'), at('vite.config.ts')])) {
    run('building the window (vite build)', ['node_modules', 'vite', 'bin', 'vite.js'], ['build']);
  }
}

function buildElectron() {
  if (stale(at('dist-electron', 'electron', 'main.js'), [at('electron'), at('src')])) {
    run('compiling the main process and engine (tsc)', ['node_modules', 'typescript', 'bin', 'tsc'], ['-p', 'electron/tsconfig.json']);
  }
  if (stale(at('dist-electron', 'electron', 'preload.cjs'), [at('electron', 'preload.ts'), at('src', 'protocol', 'names.ts')])) {
    run('bundling the preload', ['node_modules', 'vite', 'bin', 'vite.js'], ['build', '-c', 'electron/vite.preload.config.ts']);
  }
}

/** Runs a child to completion, passing Ctrl-C on, and exits with its code. */
function handOver(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const passThrough = process.argv.slice(2);
  const electron = electronBinary();
  buildRenderer();
  if (electron) {
    buildElectron();
    handOver(electron, ['.']);
  } else {
    process.stderr.write(
      "npm start: Electron's binary is not installed (it downloads on first use, which is not possible here) — " +
        'to get the desktop window run `npx install-electron` with network access (or set ELECTRON_OVERRIDE_DIST_PATH ' +
        'to an unpacked Electron); starting the browser mode instead.\n',
    );
    handOver(process.execPath, [at('bin', 'mobilevit-studio.mjs'), 'serve', ...passThrough]);
  }
}
