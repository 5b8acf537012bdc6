// Reading a file the user named (weights, labels, images): only a regular file, and only up to a size cap
// checked on the opened descriptor before any byte is read. A FIFO, a device (/dev/zero), a directory or a
// /proc file (st_size 0, but endless or changing) is refused at once with a message naming the path.
// The open is non-blocking, so naming a FIFO with no writer cannot wedge the process.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export class FileReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly code: 'not_found' | 'not_regular' | 'too_large' | 'unreadable',
  ) {
    super(`${file}: ${reason}`);
    this.name = 'FileReadError';
  }
}

export interface ReadOptions {
  /** Larger files are refused before reading. */
  maxBytes: number;
  /** What the file is, for messages: 'weights file', 'labels file', 'image'. */
  what: string;
}

const MB = 1024 * 1024;

function formatBytes(n: number): string {
  return n >= MB ? `${Math.round((n / MB) * 10) / 10} MB` : `${n} bytes`;
}

function article(what: string): string {
  return `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}`;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/** Describes an fs error by its code only (never the OS message, which may carry more than the path). */
export function describeOpenError(e: unknown): { reason: string; code: FileReadError['code'] } {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return { reason: 'no such file', code: 'not_found' };
  if (code === 'ENOTDIR') return { reason: 'no such file (a folder on the path is a file)', code: 'not_found' };
  if (code === 'EACCES' || code === 'EPERM') return { reason: 'permission denied', code: 'unreadable' };
  if (code === 'EISDIR') return { reason: 'is a directory, not a file', code: 'not_regular' };
  if (code === 'ELOOP') return { reason: 'too many symbolic links', code: 'unreadable' };
  if (code === 'ENAMETOOLONG') return { reason: 'the path is too long', code: 'unreadable' };
  return { reason: `cannot be read (${code ?? 'unknown error'})`, code: 'unreadable' };
}

/**
 * Opens `path` (non-blocking), checks on the descriptor that it is a regular file of at most `maxBytes`,
 * and returns the open descriptor and its size. The caller closes it.
 */
export function openRegularFile(path: string, opts: ReadOptions): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const d = describeOpenError(e);
    throw new FileReadError(path, d.reason, d.code);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(path, `${kindOf(st)}, not a regular file (expected ${article(opts.what)})`, 'not_regular');
    if (st.size > opts.maxBytes) {
      throw new FileReadError(path, `the ${opts.what} is ${formatBytes(st.size)}, more than the ${formatBytes(opts.maxBytes)} allowed`, 'too_large');
    }
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Checks that `path` is a regular file within the cap without reading it (for decoders that open it themselves). */
export function checkRegularFile(path: string, opts: ReadOptions): number {
  const { fd, size } = openRegularFile(path, opts);
  closeSync(fd);
  return size;
}

/** Reads a whole regular file of at most `maxBytes`; a file that grows while being read is refused too. */
export function readRegularFile(path: string, opts: ReadOptions): Buffer {
  const { fd, size } = openRegularFile(path, opts);
  const readAt = (buf: Buffer, offset: number, length: number, position: number): number => {
    try {
      return readSync(fd, buf, offset, length, position);
    } catch (e) {
      // /proc/self/mem and its kind say they are empty regular files, then fail the first read (EIO, EINVAL).
      if (size === 0) {
        const code = (e as NodeJS.ErrnoException)?.code ?? 'unknown error';
        throw new FileReadError(path, `a special file that cannot be read (${code}), not a regular file (expected ${article(opts.what)})`, 'not_regular');
      }
      const d = describeOpenError(e);
      throw new FileReadError(path, d.reason, d.code);
    }
  };
  try {
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    while (pos < size) {
      const n = readAt(buf, pos, size - pos, pos);
      if (n === 0) throw new FileReadError(path, `the ${opts.what} shrank while it was being read`, 'unreadable');
      pos += n;
    }
    // One more byte would mean the file grew past what fstat said: refuse rather than read a moving target.
    if (readAt(Buffer.alloc(1), 0, 1, size) !== 0) {
      // /proc and /sys files say they are empty and then produce text: not a file the studio can use.
      if (size === 0) throw new FileReadError(path, `a virtual file whose size is not known, not a regular file (expected ${article(opts.what)})`, 'not_regular');
      throw new FileReadError(path, `the ${opts.what} grew while it was being read`, 'unreadable');
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** A UTF-8 text file through readRegularFile. */
export function readRegularText(path: string, opts: ReadOptions): string {
  return readRegularFile(path, opts).toString('utf8');
}
