// The zoo's folders inside a workspace that may have been unpacked from someone else's archive: a folder of
// the cache (models/, a repo's, a revision's) that is a symbolic link leading out of the workspace is refused,
// so no pull or import writes outside it. A link that stays inside the workspace is followed as usual.
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export class CacheDirError extends Error {}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Every folder from `workspace` (excluded) down to `dir` (included), outermost first. */
function foldersBelow(workspace: string, dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); d !== resolve(workspace) && d !== dirname(d); d = dirname(d)) out.unshift(d);
  return out;
}

/**
 * Creates `dir` (a folder of the zoo's cache under `workspace`) and returns it, after checking that no
 * existing folder on the way is a link out of the workspace (and, once created, that it really is inside).
 */
export function ensureCacheDir(workspace: string, dir: string): string {
  const ws = resolve(workspace);
  if (!inside(ws, resolve(dir))) throw new CacheDirError(`the model cache folder ${dir} is not inside the workspace ${workspace}`);
  mkdirSync(ws, { recursive: true });
  const root = realpathSync(ws);
  const check = (d: string) => {
    const real = realpathSync(d);
    if (!inside(root, real)) {
      throw new CacheDirError(`the model cache folder ${d} is a link to ${real}, outside the workspace ${workspace}: refused (remove the link, or pull into another workspace)`);
    }
  };
  for (const d of foldersBelow(ws, dir)) {
    let st;
    try { st = lstatSync(d); } catch { break; } // the rest does not exist yet: created below, as real folders
    if (st.isSymbolicLink()) check(d);
    else if (!st.isDirectory()) throw new CacheDirError(`the model cache folder ${d} is not a folder`);
  }
  mkdirSync(dir, { recursive: true });
  check(dir);
  return dir;
}

