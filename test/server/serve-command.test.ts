// `mobilevit-studio serve` as a user runs it: prints the URL, serves it, exits cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { tempDir } from '../engine/fixtures/studio.ts';

const BIN = fileURLToPath(new URL('../../bin/mobilevit-studio.mjs', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.remove());

describe('serve command', () => {
  it('rejects a bad port with one line and exit code 2', async () => {
    const err: string[] = [];
    const code = await main(['serve', '--port', '70000', '--no-open'], { out: () => {}, err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err).toEqual(['mobilevit-studio serve: --port must be an integer from 0 to 65535, got "70000"']);
  });

  it('prints the URL with its token, serves it, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--no-open', '--workspace', tmp.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: string) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
        if (m) resolve(m[0]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
    });
    const token = new URL(url).searchParams.get('token')!;
    const api = await fetch(new URL('/api/app.info', url), { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{}' });
    expect(await api.json()).toMatchObject({ ok: true, result: { mode: 'browser', workspace: tmp.dir } });
    expect((await fetch(new URL('/api/app.info', url), { method: 'POST' })).status).toBe(401);
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
