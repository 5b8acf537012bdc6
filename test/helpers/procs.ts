// The machine's processes as Linux's /proc shows them, for tests that watch what Chromium starts and whether
// it goes away. Chromium's own processes all name their --user-data-dir on the command line; its crash
// handlers do not (they double-fork away from the browser) but inherit its environment.
import { readFileSync, readdirSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  /** Arguments joined with spaces. */
  cmdline: string;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null; // gone meanwhile, or not ours to read
  }
}

/** Every live process (zombies have an empty command line and are left out). */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = read(`/proc/${name}/cmdline`);
    const stat = read(`/proc/${name}/stat`);
    if (!cmdline || !stat) continue;
    // stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    out.push({ pid: Number(name), ppid, cmdline: cmdline.replace(/\0/g, ' ').trim() });
  }
  return out;
}

/** Whether the process's environment holds `entry` ("NAME=value"). */
export function hasEnv(pid: number, entry: string): boolean {
  return (read(`/proc/${pid}/environ`) ?? '').split('\0').includes(entry);
}

/** Chromium browser processes (not its helpers, which carry --type=) whose parent is `ppid`. */
export function browsersOf(ppid: number): Proc[] {
  return processes().filter((p) => p.ppid === ppid && /chrom/i.test(p.cmdline) && !p.cmdline.includes('--type='));
}
