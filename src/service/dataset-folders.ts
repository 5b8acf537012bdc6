// The folders of the workspace a dataset can be opened from, for a window that cannot type a path of this
// machine (the browser mode on another device): every folder in <workspace>/datasets/ and every other folder
// of the workspace that the studio does not keep itself (runs/, models/). Links to folders elsewhere count:
// linking a dataset into datasets/ is how one is offered without copying it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where a person puts (or links) dataset folders to pick them from the window. */
export const DATASETS_DIR = 'datasets';
/** The workspace's own folders: never datasets. */
const STUDIO_FOLDERS = new Set(['runs', 'models', DATASETS_DIR]);

export interface WorkspaceFolder {
  name: string;
  path: string;
}

function foldersIn(dir: string, skip: (name: string) => boolean): WorkspaceFolder[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && !skip(name))
    .map((name) => ({ name, path: join(dir, name) }))
    .filter((f) => {
      try {
        return statSync(f.path).isDirectory(); // follows links: a linked dataset is offered
      } catch {
        return false; // a dangling link
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

export function workspaceFolders(workspace: string): WorkspaceFolder[] {
  return [
    ...foldersIn(join(workspace, DATASETS_DIR), () => false).map((f) => ({ ...f, name: `${DATASETS_DIR}/${f.name}` })),
    ...foldersIn(workspace, (name) => STUDIO_FOLDERS.has(name)),
  ];
}
