// The measured speeds of this machine's compute devices, kept in one JSON file beside settings.json (the
// per-user data folder, or a fixed workspace): the engine writes it when 'auto' or the Measure button
// measures, the service reads its latest table for the Settings view, and `mobilevit-studio devices` both.
// Keyed by src/device/choose.ts's speedKey (versions, CPU, Chromium, adapters, variant, size). No tfjs here.
// The file's path is the caller's: the service and the CLI know the workspace, this module does not.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { MachineFacts, SpeedStore } from './choose.ts';
import { DeviceSpeeds } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { TFJS_VERSION, appVersion } from '../util/version.ts';

export const DEVICE_SPEEDS_FILE = 'device-speeds.json';

/** Tables of other machines, variants and sizes are kept too, the most recent this many. */
const KEEP = 32;

const File = z.object({ format: z.literal(1), entries: z.array(z.object({ key: z.string(), table: DeviceSpeeds })) });
type Entry = z.infer<typeof File>['entries'][number];

export class SpeedFile implements SpeedStore {
  constructor(readonly path: string) {}

  /** A missing, unreadable or hand-broken file is no measurement (measured again), never an error. */
  private read(): Entry[] {
    if (!existsSync(this.path)) return [];
    try {
      const r = File.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      return r.success ? r.data.entries : [];
    } catch {
      return [];
    }
  }

  get(key: string): DeviceSpeeds | null {
    return this.read().find((e) => e.key === key)?.table ?? null;
  }

  put(key: string, table: DeviceSpeeds): void {
    const entries = [{ key, table }, ...this.read().filter((e) => e.key !== key)].slice(0, KEEP);
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomic(this.path, JSON.stringify({ format: 1, entries }, null, 1) + '\n');
  }

  /** The most recently measured table, of any variant and size (what the Settings view shows). */
  latest(): DeviceSpeeds | null {
    return this.read().reduce<DeviceSpeeds | null>((a, e) => (!a || e.table.measuredAt > a.measuredAt ? e.table : a), null);
  }
}

/** What, besides the devices, makes a stored measurement stale: the studio and tfjs versions and the CPU. */
export function machineFacts(): MachineFacts {
  const cpu = cpus();
  return { studio: appVersion(), tfjs: TFJS_VERSION, platform: `${process.platform}-${process.arch}`, cpu: cpu[0]?.model.trim() ?? 'unknown', cores: cpu.length };
}
