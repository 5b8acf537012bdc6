// `mobilevit-studio serve` on a checkout as `npm ci` leaves it (no dist-renderer/): it builds the window first,
// saying so, and only then prints the URL, which serves the real index.html and its script, never a blank or
// "not built" page. Runs on a copy of the working tree (node_modules linked), so the repository's own
// dist-renderer/ is not touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/fixtures/studio.ts';
import { killGroupsAfterEach } from '../helpers/process-groups.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tmp = tempDir('serve-fresh-');
const checkout = join(tmp.dir, 'checkout');
for (const p of ['bin', 'src', 'renderer', 'vite.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
  cpSync(join(ROOT, p), join(checkout, p), { recursive: true });
}
symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
afterAll(() => tmp.remove());

const track = killGroupsAfterEach();

/** Starts serve in the copy; resolves with the printed URL and what stderr said before it. */
function serve(): Promise<{ child: ChildProcess; url: string; errBefore: string }> {
  const child = spawn(process.execPath, [join(checkout, 'bin', 'mobilevit-studio.mjs'), 'serve', '--no-open', '--workspace', join(tmp.dir, 'ws')], {
    cwd: tmp.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so an engine it started goes with it
  });
  track(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => (err += c));
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
      if (m) resolve({ child, url: m[0], errBefore: err });
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before printing its URL:\n${out}\n${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exit;
}

describe('serve after a fresh install', () => {
  it('builds the missing window before listening, then serves the real index.html and its assets', async () => {
    expect(existsSync(join(checkout, 'dist-renderer'))).toBe(false);
    const { child, url, errBefore } = await serve();
    expect(errBefore).toContain("serve: building the window's files (vite build): dist-renderer/index.html is missing…");
    expect(errBefore).toMatch(/serve: building the window's files \(vite build\): done in \d+\.\d s/);

    const built = readFileSync(join(checkout, 'dist-renderer', 'index.html'), 'utf8');
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toBe(built);
    const script = /<script type="module"[^>]* src="\.\/(assets\/[^"]+\.js)"/.exec(html);
    expect(script, 'index.html loads its bundle').not.toBeNull();
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    const js = await fetch(new URL(script![1], url), { headers: { Cookie: cookie } });
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect(await stop(child)).toBe(0);

    // Built once: the next start finds it fresh and says nothing about building.
    const again = await serve();
    expect(again.errBefore).not.toContain('building');
    expect((await fetch(again.url)).status).toBe(200);
    expect(await stop(again.child)).toBe(0);
  }, 240_000);
});
