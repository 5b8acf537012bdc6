// settings.set's workspace: an absolute path to a directory the user can write to, never a system folder.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src/protocol/contract.ts';
import { StudioService } from '../../src/service/service.ts';
import { SettingsStore } from '../../src/service/settings.ts';
import { prepareWorkspace, systemLocation } from '../../src/service/workspace.ts';
import { spawnFakeEngine, tempDir } from '../engine/fixtures/studio.ts';
import { makeDataset } from '../helpers/dataset.ts';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('studio-ws-');
});
afterEach(() => tmp.remove());

/** The error prepareWorkspace throws for `path` (fails the test when it accepts it). */
function refusal(path: string): StudioError {
  try {
    prepareWorkspace(path);
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    expect((e as StudioError).code).toBe('invalid_request');
    return e as StudioError;
  }
  throw new Error(`${path} was accepted as a workspace`);
}

describe('workspace validation', () => {
  it('refuses the filesystem root and system locations, with their subpaths', () => {
    expect(refusal('/').message).toBe('workspace: / is the filesystem root; choose a folder of your own, such as one in your home folder');
    for (const [path, root] of [
      ['/etc', '/etc'], ['/etc/passwd', '/etc'], ['/proc/self', '/proc'], ['/proc', '/proc'], ['/sys/kernel', '/sys'],
      ['/dev', '/dev'], ['/dev/shm/ws', '/dev'], ['/usr/lib/x', '/usr'], ['/etc/../proc/1', '/proc'], ['/tmp/../etc', '/etc'],
    ]) {
      expect(refusal(path).message, path).toMatch(new RegExp(`^workspace: ${path === '/etc/../proc/1' ? '/proc/1' : path === '/tmp/../etc' ? '/etc' : path} is a system location \\(${root}\\)`));
    }
    // Prefixes that only look alike are fine.
    expect(systemLocation('/etcetera')).toBeNull();
    expect(systemLocation('/devices')).toBeNull();
    expect(systemLocation(tmp.dir)).toBeNull();
  });

  it('refuses relative paths instead of resolving them against the folder the studio started in', () => {
    for (const path of ['ws', './ws', '../ws', 'etc', '~/ws']) {
      expect(refusal(path).message, path).toMatch(new RegExp(`^workspace: ".*" is a relative path; give an absolute one`));
    }
    expect(refusal('~/ws').message).toMatch(/"~" is not expanded/);
    expect(existsSync(join(process.cwd(), 'ws'))).toBe(false);
  });

  it('refuses a file, and a symbolic link that leads into a system location', () => {
    const file = join(tmp.dir, 'file.txt');
    writeFileSync(file, 'x');
    expect(refusal(file).message).toBe(`workspace: ${file} is not a directory`);
    const link = join(tmp.dir, 'etc-link');
    symlinkSync('/etc', link);
    expect(refusal(link).message).toBe(`workspace: ${link} leads (through a symbolic link) to /etc, a system location (/etc)`);
    expect(refusal(join(link, 'sub')).message).toMatch(/leads \(through a symbolic link\) to \/etc\/sub/);
  });

  it('accepts an existing writable folder, and creates a missing one whose parent exists', () => {
    expect(prepareWorkspace(tmp.dir)).toBe(tmp.dir);
    expect(prepareWorkspace(tmp.dir + '/./')).toBe(tmp.dir);
    const fresh = join(tmp.dir, 'new ws');
    expect(prepareWorkspace(fresh)).toBe(fresh);
    expect(statSync(fresh).isDirectory()).toBe(true);
    const deep = join(tmp.dir, 'a', 'b', 'c');
    expect(refusal(deep).message).toBe(`workspace: ${deep} does not exist, nor does its parent folder ${join(tmp.dir, 'a', 'b')}; create the parent first`);
    expect(existsSync(join(tmp.dir, 'a'))).toBe(false);
  });

  it('refuses a folder the user cannot write to, and cannot create one in it', () => {
    const locked = join(tmp.dir, 'locked');
    mkdirSync(join(locked, 'inside'), { recursive: true });
    chmodSync(locked, 0o755);
    chmodSync(join(locked, 'inside'), 0o555);
    chmodSync(tmp.dir, 0o755);
    // Root may write anywhere (CI runs as root): the check drops to an unprivileged user (nobody) once the
    // module is loaded, so the checkout itself need not be readable by that user (a clone in a 0700 folder).
    const check = `
      import { prepareWorkspace } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/service/workspace.ts')).href)};
      if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
      for (const p of ${JSON.stringify([join(locked, 'inside'), join(locked, 'new')])}) {
        try { prepareWorkspace(p); console.log('accepted ' + p); } catch (e) { console.log(e.message); }
      }`;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', check], { encoding: 'utf8', cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      `workspace: ${join(locked, 'inside')} is not writable by you`,
      `workspace: ${join(locked, 'new')} cannot be created: ${locked} is not writable by you`,
    ]);
  });
});

describe('SettingsStore workspace', () => {
  it('validates before saving: a refused workspace leaves settings.json as it was', () => {
    const file = join(tmp.dir, 'config', 'settings.json');
    const store = new SettingsStore(file, join(tmp.dir, 'default'));
    expect(() => store.set({ workspace: '/etc' })).toThrow(/workspace: \/etc is a system location/);
    expect(() => store.set({ workspace: 'relative/ws' })).toThrow(/relative path/);
    expect(existsSync(file)).toBe(false);
    const chosen = join(tmp.dir, 'chosen');
    expect(store.set({ workspace: chosen, backend: 'cpu' })).toEqual({ workspace: chosen, backend: 'cpu' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ workspace: chosen, backend: 'cpu' });
  });

  it('ignores a hand-edited settings.json that names a system location or a relative path, keeping the backend', () => {
    const file = join(tmp.dir, 'settings.json');
    for (const bad of ['/proc/self', 'some/relative', '/']) {
      writeFileSync(file, JSON.stringify({ workspace: bad, backend: 'wasm' }));
      const store = new SettingsStore(file, join(tmp.dir, 'default'));
      expect(store.get(), bad).toEqual({ workspace: join(tmp.dir, 'default'), backend: 'wasm' });
      expect(store.problem).toMatch(new RegExp(`^${file}: workspace: .*; using the default workspace$`));
    }
  });
});

describe('settings.set through the service', () => {
  it('refuses bad workspaces with a clear error, keeps the old one, and writes runs only inside the new one', async () => {
    const saved = process.env.MOBILEVIT_WORKSPACE;
    process.env.MOBILEVIT_WORKSPACE = join(tmp.dir, 'default');
    const service = new StudioService({ mode: 'browser', configDir: join(tmp.dir, 'config'), spawnEngine: spawnFakeEngine });
    try {
      const before = await service.handle('settings.get', {});
      for (const [workspace, message] of [
        ['/', 'workspace: / is the filesystem root; choose a folder of your own, such as one in your home folder'],
        ['/etc/passwd', 'workspace: /etc/passwd is a system location (/etc); choose a folder of your own, such as one in your home folder'],
        ['/proc/self', 'workspace: /proc/self is a system location (/proc); choose a folder of your own, such as one in your home folder'],
        ['workspace', /^workspace: "workspace" is a relative path; give an absolute one/],
      ] as const) {
        const r = await service.handle('settings.set', { workspace });
        expect(r, workspace).toMatchObject({ ok: false, error: { code: 'invalid_request', message } });
      }
      expect(await service.handle('settings.get', {})).toEqual(before);
      expect(existsSync(join(tmp.dir, 'config', 'settings.json'))).toBe(false);

      const chosen = join(tmp.dir, 'chosen');
      expect(await service.handle('settings.set', { workspace: chosen })).toMatchObject({ ok: true, result: { workspace: chosen } });
      expect(statSync(chosen).isDirectory()).toBe(true);
      // A dataset that passes the checks made before a run folder exists (two classes of readable images).
      const data = join(tmp.dir, 'data');
      await makeDataset(data, { classes: 2, perClass: 2, size: 32 });
      const started = await service.handle('train.start', { settings: { data, epochs: 1 }, name: '../../escape' });
      expect(started.ok).toBe(true);
      const runId = (started as { result: { runId: string } }).result.runId;
      expect(existsSync(join(chosen, 'runs', runId, 'run.json'))).toBe(true);
      // Nothing was written next to it, nor where the name points.
      expect(readdirSync(tmp.dir).sort()).toEqual(['chosen', 'config', 'data']);
      await service.handle('train.stop', { runId });
    } finally {
      await service.close();
      if (saved === undefined) delete process.env.MOBILEVIT_WORKSPACE;
      else process.env.MOBILEVIT_WORKSPACE = saved;
    }
  });

  it('refuses a system location fixed on the command line (serve --workspace)', () => {
    expect(() => new StudioService({ mode: 'browser', workspace: '/etc', spawnEngine: spawnFakeEngine })).toThrow('workspace: /etc is a system location (/etc)');
    expect(() => new StudioService({ mode: 'cli', workspace: '/', spawnEngine: spawnFakeEngine })).toThrow('workspace: / is the filesystem root');
  });
});
