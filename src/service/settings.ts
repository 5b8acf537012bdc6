// The studio's settings (workspace folder, backend), kept in settings.json in the config folder.
// A missing or unreadable file means defaults: a hand-edited typo must not stop the studio starting.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BackendChoice, describeZodError, type Settings } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';

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
      if (r.success) this.stored = r.data;
      else this.problem = `${file}: ${describeZodError(r.error)}; using defaults`;
    } catch (e) {
      this.problem = `${file}: not valid JSON (${(e as Error).message}); using defaults`;
    }
  }

  get(): Settings {
    return { workspace: this.stored.workspace ?? this.defaultWorkspace, backend: this.stored.backend };
  }

  set(patch: { workspace?: string; backend?: BackendChoice }): Settings {
    const next: Stored = { ...this.stored };
    if (patch.workspace !== undefined) next.workspace = resolve(patch.workspace);
    if (patch.backend !== undefined) next.backend = patch.backend;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    this.stored = next;
    return this.get();
  }
}
