// metrics.jsonl: the run's event stream, one JSON TrainEvent per line, appended as events happen,
// and the EventSink that training writes through (append, then hand to the listener).
// Appends are not fsynced: a killed process loses nothing the kernel already has, and a torn last
// line (power cut mid-write) is skipped on read. On resume the events the interrupted session
// produced after its last checkpoint are dropped, because the resumed run produces them again:
// the log then reads as if the run had never stopped.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { TrainEvent } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';

export function appendEvent(path: string, event: TrainEvent): void {
  appendFileSync(path, JSON.stringify(event) + '\n');
}

export interface EventLog {
  events: TrainEvent[];
  /** Lines that were not a valid event (a torn last line after a power cut, a hand edit). */
  skipped: number;
}

export function readEvents(path: string): EventLog {
  if (!existsSync(path)) return { events: [], skipped: 0 };
  const events: TrainEvent[] = [];
  let skipped = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = TrainEvent.safeParse(JSON.parse(line));
      if (r.success) events.push(r.data);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { events, skipped };
}

/**
 * Rewinds the log to its first `keep` events (a checkpoint records how many there were when it was
 * taken), atomically: a kill during the rewrite leaves the old log. Lines are kept verbatim, so
 * fields the schema does not know survive; lines that are not events do not count. Returns how
 * many events the log holds now (fewer than `keep` when the log was shorter).
 */
export function rewindEvents(path: string, keep: number): number {
  if (!existsSync(path)) return 0;
  const kept: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (kept.length >= keep) break;
    if (!line.trim()) continue;
    try {
      if (TrainEvent.safeParse(JSON.parse(line)).success) kept.push(line);
    } catch { /* torn line: dropped */ }
  }
  writeFileAtomic(path, kept.map((l) => l + '\n').join(''));
  return kept.length;
}

// Where training events go: appended to the run's metrics.jsonl (the record), then handed to the
// listener (the engine forwards them to the window over IPC; the CLI prints them). The sink counts
// what it has appended, so a checkpoint can say how much of the log it covers.
export type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** An event as the loop writes it; the sink stamps the time. */
export type NewEvent = DistributiveOmit<TrainEvent, 'time'>;

export class EventSink {
  private appendFailed = false;

  constructor(private readonly path: string, private readonly listener: ((e: TrainEvent) => void) | undefined, public count: number) {}

  emit(partial: NewEvent): TrainEvent {
    const event = { ...partial, time: Date.now() } as TrainEvent;
    try {
      appendEvent(this.path, event);
      this.count++;
    } catch (e) {
      // A full disk must not kill the run over its log: say so once, keep training and reporting.
      if (!this.appendFailed) {
        this.appendFailed = true;
        this.listener?.({ type: 'warning', time: Date.now(), message: `cannot append to ${this.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): events are no longer recorded` });
      }
    }
    try {
      this.listener?.(event);
    } catch (e) {
      // The listener's failure (a closed pipe, a UI bug) is not the run's: it is recorded and training goes on.
      console.error('training event listener failed:', e);
    }
    return event;
  }

  warn(message: string): void {
    this.emit({ type: 'warning', message });
  }
}
