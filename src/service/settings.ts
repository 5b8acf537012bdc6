// The studio's settings (workspace folder, backend), kept in settings.json in the config folder.
// A missing or unreadable file means defaults: a hand-edited typo must not stop the studio starting.
// A workspace is checked when it is set (./workspace.ts: absolute, a writable directory, no system
// location) and again, without touching the disk, when settings.json is read.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { BackendChoice, describeZodError, errorInfo, type Settings } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { checkWorkspacePath, prepareWorkspace } from './workspace.ts';

const Stored = z.object({
  /** Only present when the user chose a workspace; otherwise the default (env or OS folder) applies. */
  workspace: z.string().optional(),
  backend: BackendChoice.default('auto'),
});
type Stored = z.infer<typeof Stored>;

export class SettingsStore {
  private stored: Stored;
  /** Why settings.json was ignored, if it was (shown once, on the console). */
  readonly problem: string | null = null;

  constructor(
    readonly file: string,
    private readonly defaultWorkspace: string,
  ) {
    this.stored = { backend: 'auto' };
    if (!existsSync(file)) return;
    try {
      const r = Stored.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!r.success) {
        this.problem = `${file}: ${describeZodError(r.error)}; using defaults`;
        return;
      }
      this.stored = r.data;
      const bad = r.data.workspace === undefined ? null : failureOf(() => checkWorkspacePath(r.data.workspace!));
      if (bad) {
        // A hand-edited (or old) settings.json naming a relative path or a system folder: keep the backend.
        this.problem = `${file}: ${bad}; using the default workspace`;
        this.stored = { backend: r.data.backend };
      }
    } catch (e) {
      this.problem = `${file}: not valid JSON; using defaults`;
    }
  }

  get(): Settings {
    return { workspace: this.stored.workspace ?? this.defaultWorkspace, backend: this.stored.backend };
  }

  set(patch: { workspace?: string; backend?: BackendChoice }): Settings {
    const next: Stored = { ...this.stored };
    // Validated (and created when only its last folder is missing) before anything is saved.
    if (patch.workspace !== undefined) next.workspace = prepareWorkspace(patch.workspace);
    if (patch.backend !== undefined) next.backend = patch.backend;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    this.stored = next;
    return this.get();
  }
}

/** The message `f` throws, or null when it does not. */
function failureOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return errorInfo(e).message;
  }
}
