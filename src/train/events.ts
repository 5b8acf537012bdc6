// Where training events go: appended to the run's metrics.jsonl (the record), then handed to the
// listener (the engine forwards them to the window over IPC; the CLI prints them). The sink counts
// what it has appended, so a checkpoint can say how much of the log it covers.
import type { TrainEvent } from '../protocol/contract.ts';
import { appendEvent } from './metrics-log.ts';

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
