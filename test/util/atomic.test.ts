// Atomic writes: the target is replaced whole or not at all, a failure leaves no temp file behind, and its
// message names the file the caller asked for.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AtomicWriteError, writeFileAtomic } from '../../src/util/atomic.ts';

const root = mkdtempSync(join(tmpdir(), 'atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

describe('writeFileAtomic', () => {
  it('replaces a file with the new bytes and leaves nothing else', () => {
    const d = folder('replace');
    writeFileSync(join(d, 'a.json'), 'old');
    writeFileAtomic(join(d, 'a.json'), 'new');
    expect(readFileSync(join(d, 'a.json'), 'utf8')).toBe('new');
    expect(readdirSync(d)).toEqual(['a.json']);
  });

  it('removes its temp file when the rename fails (the target is a folder), and says so about the target', () => {
    const d = folder('onto-folder');
    mkdirSync(join(d, 'out.onnx'));
    let err: unknown;
    try {
      writeFileAtomic(join(d, 'out.onnx'), Buffer.alloc(1 << 20, 7));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtomicWriteError);
    expect((err as AtomicWriteError).message).toBe(`cannot write ${join(d, 'out.onnx')}: it is a folder; give a file name`);
    expect((err as AtomicWriteError).code).toBe('EISDIR');
    expect(readdirSync(d)).toEqual(['out.onnx']);
    expect(readdirSync(join(d, 'out.onnx'))).toEqual([]);
  });

  it('names the missing folder and the target, never the temp file', () => {
    const target = join(root, 'missing', 'args.yaml');
    expect(() => writeFileAtomic(target, 'x')).toThrow(`cannot write ${target}: the folder ${join(root, 'missing')} does not exist`);
    try {
      writeFileAtomic(target, 'x');
    } catch (e) {
      expect((e as Error).message).not.toMatch(/\.tmp/);
      expect((e as AtomicWriteError).code).toBe('ENOENT');
    }
  });

  it('says when a part of the path is a file', () => {
    const d = folder('file-in-path');
    writeFileSync(join(d, 'plain'), '');
    expect(() => writeFileAtomic(join(d, 'plain', 'x.json'), 'x')).toThrow(`cannot write ${join(d, 'plain', 'x.json')}: a part of ${join(d, 'plain')} is a file, not a folder`);
    expect(readdirSync(d)).toEqual(['plain']);
  });

  it('never writes through a link planted where its temp file goes', () => {
    const d = folder('planted');
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'precious');
    const now = vi.spyOn(Date, 'now').mockReturnValue(1234);
    try {
      symlinkSync(victim, join(d, `.w.json.${process.pid}.1234.tmp`));
      expect(() => writeFileAtomic(join(d, 'w.json'), 'new')).toThrow(/cannot write .*w\.json: something \(a link\?\) is already where its temporary file goes/);
    } finally {
      now.mockRestore();
    }
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(join(d, 'w.json'))).toBe(false);
  });
});
