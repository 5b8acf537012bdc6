// What the window's views were showing (the Train view's folder, form and run), kept in the workspace's
// views.json so that a reloaded page or a second window opens where the person left off. A missing or
// unreadable file means nothing was kept: it never stops the studio.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ViewState, type ViewState as ViewStateType } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { readRegularFile } from '../util/read-file.ts';

export const VIEWS_FILE = 'views.json';
/** A form and a few paths: anything larger is not ours. */
const MAX_BYTES = 256 * 1024;

export class ViewStore {
  constructor(readonly workspace: string) {}

  get file(): string {
    return join(this.workspace, VIEWS_FILE);
  }

  get(): ViewStateType {
    if (!existsSync(this.file)) return { train: null };
    try {
      const r = ViewState.safeParse(JSON.parse(readRegularFile(this.file, { maxBytes: MAX_BYTES, what: 'view state' }).toString('utf8')));
      if (r.success) return r.data;
    } catch {
      // Not JSON, too big, not a regular file: as if nothing was kept.
    }
    return { train: null };
  }

  /** Replaces the views named in the patch; the others keep what they had. */
  set(patch: Partial<ViewStateType>): ViewStateType {
    const next = { ...this.get(), ...patch };
    mkdirSync(this.workspace, { recursive: true });
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    return next;
  }
}
