import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileReadError, checkRegularFile, readRegularFile } from '../../src/util/read-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'read-file-'));
const opts = { maxBytes: 1000, what: 'weights file' };

describe('readRegularFile', () => {
  it('reads a regular file whole', () => {
    const f = join(dir, 'ok.bin');
    writeFileSync(f, 'hello');
    expect(readRegularFile(f, opts).toString()).toBe('hello');
    expect(checkRegularFile(f, opts)).toBe(5);
  });

  it('refuses a file over the cap before reading it', () => {
    const f = join(dir, 'big.bin');
    writeFileSync(f, Buffer.alloc(1001));
    expect(() => readRegularFile(f, opts)).toThrow(/big\.bin: the weights file is 1001 bytes, more than the 1000 bytes allowed/);
  });

  it.each([
    ['/dev/zero', /\/dev\/zero: a device, not a regular file \(expected a weights file\)/],
    ['/proc/self/status', /\/proc\/self\/status: a virtual file whose size is not known/],
    // Says it is an empty regular file, then fails the first read with EIO.
    ['/proc/self/mem', /^\/proc\/self\/mem: a special file that cannot be read \(EIO\), not a regular file \(expected a weights file\)$/],
    [dir, /a directory, not a regular file/],
    [join(dir, 'missing'), /missing: no such file$/],
  ])('refuses %s at once', (path, message) => {
    const start = Date.now();
    expect(() => readRegularFile(path, opts)).toThrow(message);
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('refuses a FIFO without blocking on it (no writer ever opens it)', () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const start = Date.now();
    let err: unknown;
    try {
      readRegularFile(fifo, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileReadError);
    expect((err as FileReadError).message).toMatch(/pipe: a named pipe \(FIFO\), not a regular file/);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});
