// Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder. A crash at any
// instant leaves either the old file or the new one, never a torn one; a failure leaves neither a temp
// file nor a changed target, and its message names the file the caller asked for (never the temp file).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** A failed atomic write: the message names the target, `code` keeps the errno code (ENOSPC, EISDIR, …). */
export class AtomicWriteError extends Error {
  constructor(readonly path: string, reason: string, readonly code: string | undefined) {
    super(`cannot write ${path}: ${reason}`);
    this.name = 'AtomicWriteError';
  }
}

/** The errno codes a user can act on, in words about their path and its folder. */
function reasonFor(path: string, code: string | undefined): string {
  const dir = dirname(path);
  switch (code) {
    case 'ENOENT': return `the folder ${dir} does not exist`;
    case 'ENOTDIR': return `a part of ${dir} is a file, not a folder`;
    case 'EISDIR': return 'it is a folder; give a file name';
    case 'EACCES': case 'EPERM': return `permission denied in ${dir}`;
    case 'ENOSPC': return 'the disk is full (ENOSPC)';
    case 'EDQUOT': return 'the disk quota is used up (EDQUOT)';
    case 'EROFS': return `${dir} is on a read-only file system`;
    case 'EEXIST': return `something (a link?) is already where its temporary file goes in ${dir}`;
    default: return `the write failed (${code ?? 'unknown error'})`;
  }
}

function fail(path: string, e: unknown): AtomicWriteError {
  const code = (e as NodeJS.ErrnoException)?.code;
  return new AtomicWriteError(path, reasonFor(path, code), code);
}

export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    // 'wx': a temp name is new by construction, so anything already there (a planted link) is refused, never written through.
    fd = openSync(tmp, 'wx');
  } catch (e) {
    throw fail(path, e);
  }
  let open = true;
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    fsyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    if (open) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw fail(path, e);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* directories cannot be fsynced on every platform */ }
}
