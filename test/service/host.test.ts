// Both hosts (src/service/host.ts) against one set of checks: the desktop app's (electron/host.ts, Electron
// mocked: its utilityProcess stand-in forks a real Node process) and the browser mode's (src/server/host.ts). Each
// spawns the real engine, which the service's handle calls and replaces when it dies; serves the window's files
// under one policy and nothing outside their folder; and answers the open dialogs or says to type the path.
import { execFileSync, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir, waitFor } from '../engine/fixtures/studio.ts';

vi.mock('electron', () => import('../electron/fixtures/fake-electron.ts'));
const { utilityProcess, dialog } = await import('../electron/fixtures/fake-electron.ts');
const { electronHost } = await import('../../electron/host.ts');
const { browserHost } = await import('../../src/server/host.ts');
const { EngineHandle } = await import('../../src/service/engine-handle.ts');
const { engineEntry } = await import('../../src/service/engine-process.ts');
const { StudioService, hostOptions } = await import('../../src/service/service.ts');
type StudioHost = import('../../src/service/host.ts').StudioHost;

const tmp = tempDir();
const web = join(tmp.dir, 'web');
mkdirSync(join(web, 'assets'), { recursive: true });
writeFileSync(join(web, 'index.html'), '<!doctype html><title>studio</title>');
writeFileSync(join(web, 'assets', 'app.js'), 'export {};');
writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
if (process.platform !== 'win32') execFileSync('mkfifo', [join(web, 'pipe.js')]); // a read of it would wait forever
const closers: (() => void)[] = [];
afterAll(() => {
  closers.forEach((close) => close());
  tmp.remove();
});

/** Electron's utilityProcess over a forked Node process: 'spawn', 'message' (the message itself), 'exit' (a code). */
utilityProcess.fork.mockImplementation((entry: string) => {
  const child = fork(entry, [], {
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  const utility = Object.assign(new EventEmitter(), {
    pid: child.pid,
    stderr: child.stderr,
    postMessage: (message: unknown) => void (child.connected && child.send(message as object)),
    kill: () => child.kill('SIGKILL'),
  });
  child.on('spawn', () => utility.emit('spawn'));
  child.on('message', (m) => utility.emit('message', m));
  child.on('exit', (code, signal) => utility.emit('exit', code ?? (signal ? 137 : 1)));
  return utility;
});

const hosts: [string, () => StudioHost][] = [
  ['electron', () => electronHost({ renderer: web, engine: engineEntry(), devices: { serve: () => ({ receive: () => false, close: () => {} }) } as never, window: () => null })],
  ['browser', () => browserHost({ staticDir: web, port: () => 4242 })],
];

describe.each(hosts)('the %s host', (mode, make) => {
  const host = make();

  it('names its shell, and its service reports it', async () => {
    expect(host.mode).toBe(mode);
    const service = new StudioService({ ...hostOptions(host), workspace: join(tmp.dir, `ws-${mode}`) });
    closers.push(() => void service.close());
    const info = await service.handle('app.info', {});
    expect(info).toMatchObject({ ok: true, result: { mode, dialogs: host.dialogs !== null, versions: host.versions } });
  });

  it('spawns an engine that answers the service, and a fresh one after it dies', async () => {
    const engine = new EngineHandle(() => host.spawnEngine(), () => 'cpu');
    closers.push(() => engine.close());
    expect(await engine.call('train.control', { runId: 'none', action: 'stop' })).toEqual({ runId: 'none', accepted: false });
    expect(engine.backend).toMatchObject({ active: 'cpu' });
    const first = engine.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => (engine.state === 'crashed' ? true : undefined), 10_000, 'the crash to be seen');
    expect(await engine.call('train.control', { runId: 'none', action: 'pause' })).toMatchObject({ accepted: false });
    expect(engine.pid).not.toBe(first);
  }, 60_000);

  it("serves the window's files under its policy, and nothing outside their folder", async () => {
    const csp = host.windowHeaders()['Content-Security-Policy'];
    for (const rule of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "form-action 'none'"]) expect(csp).toContain(rule);
    expect(csp).not.toMatch(/unsafe-eval|unsafe-inline/);
    for (const path of ['/', '/index.html']) {
      const index = await host.windowFile(path, 'GET');
      expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><title>studio</title>']);
      expect(index.headers.get('content-security-policy')).toBe(csp);
    }
    const script = await host.windowFile('/assets/app.js', 'HEAD');
    expect([script.status, script.headers.get('content-type'), await script.text()]).toEqual([200, 'text/javascript; charset=utf-8', '']);
    for (const [path, method] of [['/..%2fsecret.txt', 'GET'], ['/%2e%2e/secret.txt', 'GET'], ['/missing.js', 'GET'], ['/pipe.js', 'GET'], ['/assets', 'GET'], ['/index.html', 'POST']]) {
      const refused = await host.windowFile(path, method);
      expect(refused.status, `${method} ${path}`).toBe(404);
      expect(refused.headers.get('content-security-policy')).toBe(csp);
    }
  });

  it('answers the open dialogs with what the user picked, or says to type the path', async () => {
    const service = new StudioService({ ...hostOptions(host), workspace: join(tmp.dir, `ws-${mode}`) });
    closers.push(() => void service.close());
    const reply = await service.handle('dialog.openFolder', { title: 'Pick' });
    if (host.dialogs) {
      expect(reply).toEqual({ ok: true, result: { path: '/picked/folder' } });
      expect(dialog.showOpenDialog).toHaveBeenCalledWith(expect.objectContaining({ title: 'Pick', properties: ['openDirectory'] }));
    } else {
      expect(reply).toMatchObject({ ok: false, error: { code: 'unsupported', message: expect.stringMatching(/type the folder path/) } });
    }
  });
});

it('the two hosts differ where the shells do: Electron has dialogs and a page that connects nowhere', () => {
  const [electron, browser] = hosts.map(([, make]) => make());
  expect([electron.dialogs !== null, browser.dialogs !== null]).toEqual([true, false]);
  expect(electron.windowHeaders()['Content-Security-Policy']).toMatch(/connect-src 'none'/);
  expect(browser.windowHeaders()['Content-Security-Policy']).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:4242 ws:\/\/localhost:4242/);
});
