// The contract's runs domain: a run's record and status, its exports, and the events that end a session.
import { z } from 'zod';
import { RunId } from './common.ts';
import { ScanSummary } from './datasets.ts';
import { finite, prob } from './fields.ts';
import { BestEpoch, TrainEvent, TrainSettings } from './training.ts';

/** The ways out of the studio (the CLI's `export --format`). */
export const ExportFormat = z.enum(['onnx', 'safetensors', 'timm-recipe']);
export type ExportFormat = z.infer<typeof ExportFormat>;
/** What an export wrote (into the run's exports/ folder). */
export const ExportResult = z.object({
  runId: RunId,
  format: ExportFormat,
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().nonnegative() })),
  /** timm-recipe: the command line to run it. */
  command: z.string().optional(),
  notes: z.array(z.string()),
});
export type ExportResult = z.infer<typeof ExportResult>;

export const RunStatus = z.enum(['running', 'paused', 'stopped', 'finished', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

/** The events that end a training session: one of them is the only signal that a run is over. */
export type TerminalEvent = Extract<TrainEvent, { type: 'finished' | 'stopped' | 'failed' }>;
export function isTerminalEvent(e: TrainEvent): e is TerminalEvent {
  return e.type === 'finished' || e.type === 'stopped' || e.type === 'failed';
}
/** The status a terminal event leaves the run in. */
export function statusAfter(e: TerminalEvent): Exclude<RunStatus, 'running'> {
  return e.type === 'stopped' ? (e.reason === 'pause' ? 'paused' : 'stopped') : e.type;
}

export const RunSummary = z.object({
  id: RunId,
  name: z.string(),
  status: RunStatus,
  createdAt: z.string(), // ISO 8601
  updatedAt: z.string(),
  settings: TrainSettings,
  classes: z.array(z.string()),
  epochsDone: z.number().int(),
  best: BestEpoch.nullable(),
  last: z.object({ epoch: z.number().int(), trainLoss: finite, valLoss: finite.nullable(), valTop1: prob.nullable() }).nullable(),
  /** Why the run failed (engine crash, NaN loss, …). */
  error: z.string().nullable(),
  /** A checkpoint exists, so train.resume can continue it. */
  resumable: z.boolean(),
  /** The recipe's 'auto' settings as resolved when the run started, and why (absent before it starts). */
  recipe: z.object({ settings: TrainSettings, explanation: z.string() }).optional(),
  /** A person's labels and notes on the run (runs.annotate). */
  tags: z.array(z.string()),
  notes: z.string(),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** A label on a run: one short word or phrase; the Runs view filters by it. */
export const RunTag = z
  .string()
  .trim()
  .min(1, 'a tag is empty')
  .max(40, 'a tag is longer than 40 characters')
  .regex(/^[^,\n\r\t]+$/, 'a tag holds no commas, tabs or line breaks');
export const RunNotes = z.string().max(10_000, 'notes are longer than 10,000 characters');

export const RunDetail = z.object({
  run: RunSummary,
  /** The whole metrics.jsonl, in order, for replaying curves. */
  events: z.array(TrainEvent),
  /** Lines of metrics.jsonl that could not be read (torn last line after a kill, unknown type). */
  skippedEvents: z.number().int(),
  dataset: ScanSummary.nullable(),
  backend: z.string().nullable(),
});
export type RunDetail = z.infer<typeof RunDetail>;
