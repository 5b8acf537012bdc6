// The start of a page device (a browser to launch, a page to load, a backend to set up) is slow on a loaded machine
// or a software GPU, and slow is not broken: a start fails only when it stops moving. Each step it takes resets the
// allowance; a start that takes no step for `stallMs` fails saying which step it was stuck in, and a signal cancels
// it at any point (issue 22 item 11: a fixed 60 s failed a webgpu start that SwiftShader was still compiling).
// A start that has gone on for a while says each step, and every few seconds that it is still in one.

export interface StartWatchOptions {
  /** What starts, in a user's words: "webgpu in headless Chromium". */
  what: string;
  /** How long a start may take no step before it fails. */
  stallMs: number;
  signal?: AbortSignal;
  onNote?: (note: string) => void;
  /** Quiet until the start has taken this long (a quick start says nothing); default 10 s. */
  noteAfterMs?: number;
  /** While quiet in one step, how often to say it is still there; default 15 s. */
  remindEveryMs?: number;
}

/** How long a page device's start may take no step (launch, page load, each step of its backend set-up) before it fails. */
export const START_STALL_MS = 180_000;

export class StartCancelled extends Error {}

export class StartWatch {
  private readonly began = Date.now();
  private step = 'starting';
  private stepAt = this.began;
  private stall: ReturnType<typeof setTimeout> | undefined;
  private readonly remind: ReturnType<typeof setInterval> | undefined;
  private fail!: (e: Error) => void;
  private ended = false;
  /** When the last note was said (a reminder comes only after a quiet interval). */
  private notedAt = 0;
  /** Rejects when the start stalls or is cancelled; never resolves. */
  private readonly failed = new Promise<never>((_, reject) => (this.fail = reject));
  private readonly onAbort = () => this.end(new StartCancelled(`starting ${this.o.what} was cancelled (${this.where()})`));

  constructor(private readonly o: StartWatchOptions) {
    this.failed.catch(() => undefined); // raced by guard(); a failure between guards is not unhandled
    const every = o.remindEveryMs ?? 15_000;
    if (o.onNote) this.remind = setInterval(() => { if (Date.now() - this.notedAt >= every) this.note(`still ${this.step}`); }, every);
    this.armStall();
    if (o.signal?.aborted) this.onAbort();
    else o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The start moved on to `label` ("launching headless Chromium", "creating the WebGPU device"). */
  stepTo(label: string): void {
    if (this.ended) return;
    this.step = label;
    this.stepAt = Date.now();
    this.armStall();
    this.note(label);
  }

  /** `p`, unless the start stalls or is cancelled first (then `p` goes on: its owner cleans up after it). */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }

  /** Stops watching: the start succeeded, or failed (with `error`: guards waiting now reject with it). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.stall);
    clearInterval(this.remind);
    this.o.signal?.removeEventListener('abort', this.onAbort);
    if (error) this.fail(error);
  }

  private armStall(): void {
    clearTimeout(this.stall);
    const s = this.o.stallMs / 1000;
    this.stall = setTimeout(() => this.end(new Error(`${this.o.what} did not start: no progress for ${s} s (${this.where()})`)), this.o.stallMs);
  }

  private where(): string {
    return `while ${this.step}, ${secs(Date.now() - this.began)} in`;
  }

  private note(text: string): void {
    const elapsed = Date.now() - this.began;
    if (this.ended || !this.o.onNote || elapsed < (this.o.noteAfterMs ?? 10_000)) return;
    const inStep = Date.now() - this.stepAt;
    this.notedAt = Date.now();
    this.o.onNote(`starting ${this.o.what}: ${text} (${secs(elapsed)}${inStep >= 1000 ? `, ${secs(inStep)} in this step` : ''})`);
  }
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
