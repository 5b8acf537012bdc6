// Which folders may be the workspace. The studio writes runs, checkpoints and settings there, so it must be
// a folder the user owns in spirit: an absolute path (a relative one would depend on the folder the studio
// happened to start from), a directory the user can write to, and not a system location. A missing folder
// is created when its parent exists and is writable; deeper missing paths are refused (a typo should not
// create a tree of folders). Symbolic links are followed before the system-location check, so a link in
// the home folder that points at /etc is refused too.
import { accessSync, constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
import { StudioError } from '../protocol/contract.ts';

/** Folders (and everything under them) that are never a workspace. */
export const SYSTEM_LOCATIONS: readonly string[] = [
  '/etc', '/proc', '/sys', '/dev', '/boot', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/usr', '/run',
  // macOS: /etc is a link into /private; /System is the sealed system volume.
  '/private/etc', '/System',
  ...(process.platform === 'win32' && process.env.SystemRoot ? [process.env.SystemRoot] : []),
];

function fail(message: string): never {
  throw new StudioError('invalid_request', `workspace: ${message}`);
}

function within(path: string, root: string): boolean {
  const a = process.platform === 'win32' ? path.toLowerCase() : path;
  const b = process.platform === 'win32' ? root.toLowerCase() : root;
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
}

/** The system location `path` is or lies under, or null. The filesystem root counts as one. */
export function systemLocation(path: string): string | null {
  if (parse(path).root === path) return path;
  return SYSTEM_LOCATIONS.find((root) => within(path, root)) ?? null;
}

/** `path` with symbolic links resolved as far as it exists (the missing rest appended unchanged). */
function realOf(path: string): string {
  const rest: string[] = [];
  let p = path;
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const up = dirname(p);
      if (up === p) return path;
      rest.push(basename(p));
      p = up;
    }
  }
}

function isDirectory(path: string): boolean | null {
  try {
    return statSync(path).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    fail(`${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The checks that need no disk: an absolute path outside the system locations. Returns it normalized. */
export function checkWorkspacePath(input: string): string {
  if (typeof input !== 'string' || input.trim() === '') fail('the path is empty');
  if (!isAbsolute(input)) {
    fail(`"${input.slice(0, 200)}" is a relative path; give an absolute one (such as ${join(process.env.HOME ?? '/home/you', 'mobilevit-workspace')})${input.startsWith('~') ? ' — "~" is not expanded' : ''}`);
  }
  const path = resolve(input);
  const sys = systemLocation(path);
  if (sys) fail(`${path} is ${sys === path && parse(path).root === path ? 'the filesystem root' : `a system location (${sys})`}; choose a folder of your own, such as one in your home folder`);
  return path;
}

/**
 * A workspace fixed on the command line (`serve --workspace`): relative paths mean the shell's folder there,
 * as any command-line path does, but a system location (or a link into one) is refused all the same.
 */
export function checkFixedWorkspace(input: string): string {
  const path = checkWorkspacePath(resolve(input));
  const real = realOf(path);
  const sys = systemLocation(real);
  if (sys) fail(`${path} leads (through a symbolic link) to ${real}, ${parse(real).root === real ? 'the filesystem root' : `a system location (${sys})`}`);
  return path;
}

/**
 * Validates a workspace the user chose and creates it when only the last folder is missing.
 * Returns the normalized absolute path; throws StudioError('invalid_request') saying what is wrong.
 */
export function prepareWorkspace(input: string): string {
  const path = checkWorkspacePath(input);
  const real = realOf(path);
  const sys = systemLocation(real);
  if (sys) fail(`${path} leads (through a symbolic link) to ${real}, ${parse(real).root === real ? 'the filesystem root' : `a system location (${sys})`}`);
  const dir = isDirectory(path);
  if (dir === false) fail(`${path} is not a directory`);
  if (dir === null) {
    const parent = dirname(path);
    const parentDir = isDirectory(parent);
    if (parentDir === null) fail(`${path} does not exist, nor does its parent folder ${parent}; create the parent first`);
    if (parentDir === false) fail(`${path} cannot be created: ${parent} is not a directory`);
    if (!writable(parent)) fail(`${path} cannot be created: ${parent} is not writable by you`);
    try {
      mkdirSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fail(`${path} could not be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (isDirectory(path) !== true) fail(`${path} is not a directory`);
  }
  if (!writable(path)) fail(`${path} is not writable by you`);
  return path;
}
