// bin/mobilevit-studio.mjs runs the CLI compiled into dist-cli/: built on first use, rebuilt when a source is
// newer, tsx only when it cannot be built; and the command registry (all `--help` needs) loads none of the heavy
// packages, which only a command's run does. Runs on a copy of the working tree (node_modules linked), so the
// repository's own dist-cli/ is not touched.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/fixtures/studio.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tmp = tempDir('cli-entry-');
const checkout = join(tmp.dir, 'checkout');
for (const p of ['bin', 'src', 'scripts', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, p), join(checkout, p), { recursive: true });
symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
afterAll(() => tmp.remove());

const env = { ...process.env, MOBILEVIT_CLI_SOURCE: '' };
const cli = (...args: string[]) => promisify(execFile)(process.execPath, [join(checkout, 'bin', 'mobilevit-studio.mjs'), ...args], { cwd: tmp.dir, env });
const COMPILED_INFO = join(checkout, 'dist-cli', 'src', 'cli', 'commands', 'info.js');
const SUMMARY = 'parameters, multiply-adds and output shape of every block';

describe('the CLI entry point', () => {
  it('compiles the CLI on first use, quietly off a terminal, then runs the compiled files until a source is newer', async () => {
    const first = await cli('--help');
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(SUMMARY);
    expect(existsSync(COMPILED_INFO)).toBe(true);

    // What runs is the compiled file: a change to it (not to the source) shows in the help.
    writeFileSync(COMPILED_INFO, readFileSync(COMPILED_INFO, 'utf8').replace(`summary: '${SUMMARY}'`, "summary: 'COMPILED MARKER'"));
    const second = await cli('--help');
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('COMPILED MARKER');

    // A source edited after the build: rebuilt, and the marker is gone.
    const later = Date.now() / 1000 + 60;
    utimesSync(join(checkout, 'src', 'cli', 'commands', 'info.ts'), later, later);
    const third = await cli('--help');
    expect(third.stderr).toBe('');
    expect(third.stdout).toContain(SUMMARY);
    expect(readFileSync(COMPILED_INFO, 'utf8')).not.toContain('COMPILED MARKER');
  }, 180_000);

  it('loads neither TF.js nor sharp, onnxruntime or Chromium\'s driver to list the commands', async () => {
    if (!existsSync(COMPILED_INFO)) await cli('--help');
    const probe = `import { createRequire } from 'node:module';
await import(${JSON.stringify(join(checkout, 'dist-cli', 'src', 'cli', 'commands', 'index.js'))});
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => !p.endsWith('package.json'));
console.log(JSON.stringify({ loaded, tfjs: typeof globalThis._tfengine }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { cwd: checkout });
    const { loaded, tfjs } = JSON.parse(stdout) as { loaded: string[]; tfjs: string };
    expect(tfjs).toBe('undefined');
    expect(loaded.filter((p) => /node_modules[\\/](@tensorflow|sharp|@img|onnxruntime-node|onnx-proto|playwright-core|ws)[\\/]/.test(p))).toEqual([]);
  }, 180_000);

  it('runs the sources through tsx, saying why, when the CLI cannot be compiled', async () => {
    const later = Date.now() / 1000 + 120;
    utimesSync(join(checkout, 'src', 'cli', 'main.ts'), later, later);
    rmSync(join(checkout, 'scripts', 'build-cli.mjs'));
    const r = await cli('info', '--help');
    expect(r.stderr).toMatch(/scripts\/build-cli\.mjs is not installed.*; running the CLI from its TypeScript sources through tsx instead/);
    expect(r.stdout).toContain(`mobilevit-studio info: ${SUMMARY}`);
  }, 180_000);
});
