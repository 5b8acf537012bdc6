#!/usr/bin/env node
// `npm start`: opens the desktop window, building what is missing or stale first.
// Where Electron's binary is not installed (Electron 45 downloads nothing at `npm install`), it runs the electron
// package's own installer, node_modules/electron/install.js, which honours ELECTRON_MIRROR, electron_config_cache,
// electron_use_remote_checksums and (with HTTPS_PROXY/HTTP_PROXY set) a proxy, and shows the download's progress.
// Only when that fails does it start the browser mode instead, saying why in one line.
// It finds the binary the way the electron package does, without require('electron') (which throws without it).
//   npm start [-- serve flags]     e.g. npm start -- --port 8080 --no-open (used by the browser mode)
//   npm start -- --no-build        launch what is built, build nothing
//   MOBILEVIT_ELECTRON_DIR         the electron package folder (default node_modules/electron)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const at = (...p) => join(root, ...p);
const say = (line) => process.stderr.write(`npm start: ${line}\n`);

/** The electron package folder: MOBILEVIT_ELECTRON_DIR, else node_modules/electron. */
export function electronPackageDir(env = process.env) {
  return resolve(env.MOBILEVIT_ELECTRON_DIR || at('node_modules', 'electron'));
}

/** The installed Electron executable, or null (read from the package's path.txt, as its index.js does). */
export function electronBinary(pkgDir = electronPackageDir(), env = process.env) {
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const candidate = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron')
    : rel && join(pkgDir, 'dist', rel);
  return candidate && existsSync(candidate) ? candidate : null;
}

/**
 * Runs the electron package's install.js with its progress on stderr; resolves with null when it installed a
 * binary, else with the reason in one line.
 */
export function installElectron(pkgDir = electronPackageDir(), env = process.env) {
  const installer = join(pkgDir, 'install.js');
  if (!existsSync(installer)) return Promise.resolve(`${installer} does not exist (run \`npm install\`)`);
  let version = '?';
  try {
    version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    // named as '?' below
  }
  // The installer's own precedence (@electron/get): .npmrc's electron_mirror, then package.json's config, then the variable.
  const mirror =
    env.npm_config_electron_mirror || env.NPM_CONFIG_ELECTRON_MIRROR || env.npm_package_config_electron_mirror || env.ELECTRON_MIRROR ||
    'the default mirror (github.com)';
  say(`Electron's binary is not installed: installing Electron ${version} from ${mirror} with ${installer}…`);
  const childEnv = {
    ...env,
    MOBILEVIT_PROGRESS_FD: '3',
    ELECTRON_GET_NO_PROGRESS: '1', // ours replaces its bar (which shows only after 30 s, on a terminal)
  };
  const proxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (proxy && !env.ELECTRON_GET_USE_PROXY) childEnv.ELECTRON_GET_USE_PROXY = '1';
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--require', at('scripts', 'electron-install-progress.cjs'), installer], {
      cwd: pkgDir,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe', 2],
    });
    let err = '';
    child.stdout.on('data', (c) => process.stderr.write(c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', (e) => done(`could not run ${installer}: ${e.message}`));
    child.on('close', (code, signal) => {
      if (process.env.MOBILEVIT_DEBUG && err) process.stderr.write(err);
      if (code === 0 && electronBinary(pkgDir, env)) {
        say(`installed Electron ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return done(null);
      }
      if (code === 0) return done(`${installer} finished but left no binary in ${join(pkgDir, 'dist')}`);
      const lines = err.split('\n').map((l) => l.trim()).filter(Boolean);
      const cause = lines.find((l) => l.startsWith('electron-install-reason: '))?.slice('electron-install-reason: '.length);
      let reason = cause ?? lines.find((l) => !l.startsWith('at ')) ?? `${installer} failed (${signal ?? `exit ${code}`})`;
      if (/ERR_REQUIRE_ESM/.test(err)) reason += ` (Electron ${version}'s installer needs Node ≥ 20.19)`;
      done(reason);
    });
  });
}

/** Runs a child to completion, passing Ctrl-C on, and exits with its code. */
function handOver(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main(argv, env) {
  const noBuild = argv.includes('--no-build');
  const serveArgs = argv.filter((a) => a !== '--no-build');
  register();
  const { ensureBuilt, RENDERER, ELECTRON_MAIN, PRELOAD, DEVICE_PAGE } = await import('../src/build/outputs.ts');
  const build = (target) => ensureBuilt(target, { root, log: say });

  const pkgDir = electronPackageDir(env);
  let electron = electronBinary(pkgDir, env);
  let reason = null;
  if (!electron) {
    reason = env.ELECTRON_OVERRIDE_DIST_PATH
      ? `ELECTRON_OVERRIDE_DIST_PATH=${env.ELECTRON_OVERRIDE_DIST_PATH} holds no Electron binary`
      : await installElectron(pkgDir, env);
    electron = reason ? null : electronBinary(pkgDir, env);
  }
  if (!electron) {
    say(
      `no desktop window: could not install Electron's binary (${reason}); starting the browser mode instead ` +
        '(to retry: set ELECTRON_MIRROR or HTTPS_PROXY if needed and run `npm start` again, or point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron)',
    );
  }
  try {
    if (!noBuild) await build(RENDERER);
    if (electron && !noBuild) {
      await build(ELECTRON_MAIN);
      await build(PRELOAD);
      await build(DEVICE_PAGE); // the hidden windows' page (webgpu, webgl, wasm-threads devices)
    }
  } catch (e) {
    say(e.message);
    process.exit(1);
  }
  if (electron) return handOver(electron, [root]);
  handOver(process.execPath, [at('bin', 'mobilevit-studio.mjs'), 'serve', ...(noBuild ? ['--no-build'] : []), ...serveArgs]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2), process.env);
}
