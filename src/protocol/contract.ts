// The one typed contract between the window (renderer) and the studio (service + engine): every
// request with its params and result, every event with its payload. Each is a zod schema, so anything
// that crosses a process boundary is validated at runtime, and the TypeScript types are inferred from
// the same schemas. The schemas live in one file per domain (common, app, devices, datasets, training,
// runs, inspection, zoo); this index holds the request and event tables, the errors and the client
// interfaces, and is the contract's public face: importers take every name from here.
// These files must stay free of Node and tfjs imports: the renderer bundles them.
import { z } from 'zod';
import type { EventName, RequestName } from './names.ts';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE } from '../model/types.ts';
import { AppInfo, DialogResult, EngineState, FileFilter, Settings, SettingsPatch, ViewState, ViewStatePatch } from './app.ts';
import { FsPath, ImageInput, ModelRef, NetworkName, RunId, VariantName } from './common.ts';
import { ScanSummary, Thumbnail, ValFraction } from './datasets.ts';
import { DeviceSpeeds, KeptRuntime } from './devices.ts';
import { Cell, int } from './fields.ts';
import { AttentionResult, EvalResult, PredictResult, ProfileResult, ReceptiveFieldResult } from './inspection.ts';
import { ExportFormat, ExportResult, RunDetail, RunNotes, RunStatus, RunSummary, RunTag } from './runs.ts';
import { TrainEvent, TrainSettings } from './training.ts';
import { ZooModel, ZooName, ZooPullResult } from './zoo.ts';

export { REQUEST_NAMES, EVENT_NAMES, isRequestName, isEventName } from './names.ts';
export type { RequestName, EventName } from './names.ts';
export * from './common.ts';
export * from './app.ts';
export * from './devices.ts';
export * from './datasets.ts';
export * from './training.ts';
export * from './runs.ts';
export * from './inspection.ts';
export * from './zoo.ts';

// ---------------------------------------------------------------------------------------------
// The request table

const empty = z.object({}).strict().default({});

export const requests = {
  'app.info': { params: empty, result: AppInfo },
  'settings.get': { params: empty, result: Settings },
  'settings.set': { params: SettingsPatch, result: Settings },
  /** Electron only; in browser mode these fail with code 'unsupported' and the UI shows a path field. */
  /** What the window's views were showing, kept in the workspace so a reload or a second window shows the same. */
  'views.get': { params: empty, result: ViewState },
  'views.set': { params: ViewStatePatch, result: ViewState },
  'dialog.openFolder': { params: z.object({ title: z.string().max(200).optional() }).strict().default({}), result: DialogResult },
  'dialog.openFile': {
    params: z.object({ title: z.string().max(200).optional(), filters: z.array(FileFilter).max(10).optional() }).strict().default({}),
    result: DialogResult,
  },
  'dataset.scan': {
    params: z.object({ path: FsPath, valFraction: ValFraction.optional(), seed: int(0, 2 ** 31 - 1).optional() }).strict(),
    result: ScanSummary,
  },
  /** Folders of the workspace to open as a dataset (datasets/ and the others it does not keep itself), for the browser mode. */
  'dataset.folders': {
    params: empty,
    result: z.object({ workspace: z.string(), folders: z.array(z.object({ name: z.string(), path: z.string() })) }),
  },
  'dataset.thumbnails': {
    params: z.object({
      path: FsPath,
      class: z.string().min(1).optional(),
      limit: int(1, 200).default(24),
      offset: int(0, 10_000_000).default(0),
      size: int(16, 256).default(96),
    }).strict(),
    result: z.object({ items: z.array(Thumbnail), total: z.number().int() }),
  },
  'train.start': {
    params: z.object({ settings: TrainSettings, name: z.string().min(1).max(200).optional() }).strict(),
    result: z.object({ runId: RunId }),
  },
  'train.stop': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'train.pause': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'train.resume': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'runs.list': { params: empty, result: z.object({ runs: z.array(RunSummary) }) },
  'runs.get': { params: z.object({ runId: RunId }).strict(), result: RunDetail },
  'runs.rename': { params: z.object({ runId: RunId, name: z.string().trim().min(1).max(200) }).strict(), result: RunSummary },
  /** Sets a run's tags and/or notes (kept in its run.json); refused while the run trains, like a rename. */
  'runs.annotate': {
    params: z.object({ runId: RunId, tags: z.array(RunTag).max(20, 'more than 20 tags').optional(), notes: RunNotes.optional() }).strict(),
    result: RunSummary,
  },
  'runs.delete': { params: z.object({ runId: RunId }).strict(), result: z.object({ runId: RunId }) },
  'runs.export': {
    params: z.object({
      runId: RunId,
      format: ExportFormat,
      checkpoint: z.enum(['best', 'last']).default('best'),
      /** ONNX input size; default the run's training size. */
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional(),
      opset: int(13, 21).default(17),
    }).strict(),
    result: ExportResult,
  },
  'eval.run': {
    params: z.object({
      runId: RunId,
      checkpoint: z.enum(['best', 'last']).default('best'),
      /** How many misclassified images to return with thumbnails. */
      maxMisclassified: int(0, 500).default(48),
    }).strict(),
    result: EvalResult,
  },
  'inspect.predict': {
    params: z.object({
      model: ModelRef,
      image: ImageInput,
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional(),
      /** A detector's: the boxes scoring above it are returned (default 0.3); other tasks ignore it. */
      scoreThreshold: z.number().min(0).lt(1).optional(),
      /** A segmentation run's: the image's ground-truth mask (a palette or grey index PNG, 255 = ignore), scored and returned. */
      mask: ImageInput.optional(),
    }).strict(),
    result: PredictResult,
  },
  'inspect.attention': {
    params: z.object({
      model: ModelRef,
      image: ImageInput,
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional(),
      block: int(0, 16).default(0), // MobileViT block, from 0
      layer: z.union([int(0, 64), z.literal('rollout')]).default('rollout'),
      head: z.union([int(0, 64), z.literal('mean')]).default('mean'),
      patch: Cell, // [row, col] in the patch grid
      pixel: z.union([Cell, z.literal('mean')]).default('mean'), // position inside the patch
    }).strict(),
    result: AttentionResult,
  },
  'inspect.receptiveField': {
    params: z.object({
      model: ModelRef,
      /** Omitted: a seeded random image of imageSize. */
      image: ImageInput.optional(),
      imageSize: int(MIN_INPUT_SIZE, 512).default(128),
      /** Network block index; omitted: every block. */
      block: int(0, 256).optional(),
      /** Output location in the block's feature map; omitted: the centre. */
      location: Cell.optional(),
      seed: int(0, 2 ** 31 - 1).default(0),
    }).strict(),
    result: ReceptiveFieldResult,
  },
  'inspect.profile': {
    params: z.object({
      variant: NetworkName,
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).default(256),
      batch: int(1, 256).default(1),
      runs: int(1, 1000).default(10),
      /** tfjs (default): the studio's engine; onnxruntime: the studio's ONNX export on onnxruntime-node, per node mapped to blocks. */
      runtime: z.enum(['tfjs', 'onnxruntime']).optional(),
      /**
       * Where TF.js times it: 'engine' (default) the engine's compute device (which 'auto' picks for training, maybe
       * a Chromium page), 'in-process' the engine's own backend (tensorflow or wasm) whatever the device.
       */
      device: z.enum(['engine', 'in-process']).optional(),
    }).strict(),
    result: ProfileResult,
  },
  'models.list': { params: empty, result: z.object({ models: z.array(ZooModel), dir: z.string() }) },
  /** Downloads (progress events: bytes; label: rate and time left) unless cached; the answer names the file to use. */
  'models.pull': { params: z.object({ name: ZooName }).strict(), result: ZooPullResult },
  'models.cancel': { params: z.object({ name: ZooName }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /**
   * Puts a local .safetensors `file` into the cache as zoo model `name` (without it: recognised by the file's key
   * names and size), checked as a download is (no network).
   */
  'models.import': { params: z.object({ file: FsPath, name: ZooName.optional() }).strict(), result: ZooPullResult },
  /** The latest measurement of this machine's compute devices (null: never measured); reads a file, starts nothing. */
  /** The latest measured device table, and the inference runtime rule's choices kept for this machine. */
  'devices.speeds': { params: empty, result: z.object({ table: DeviceSpeeds.nullable(), runtimes: z.array(KeptRuntime).default([]) }) },
  /** Measures every device on `variant` at `imageSize` (progress events; devices.cancel stops it). */
  'devices.measure': {
    params: z.object({ variant: VariantName.default('mobilevit_xxs'), imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).default(256) }).strict().default({}),
    result: DeviceSpeeds,
  },
  'devices.cancel': { params: empty, result: z.object({ cancelled: z.boolean() }) },
} as const satisfies Record<RequestName, { params: z.ZodTypeAny; result: z.ZodTypeAny }>;

// Compile-time check that the table has no request missing from names.ts (satisfies checks the other way).
type _NoExtraRequests = Exclude<keyof typeof requests, RequestName> extends never ? true : never;
const _noExtraRequests: _NoExtraRequests = true;
void _noExtraRequests;

/** Params as a caller writes them (defaults may be omitted). */
export type Params<K extends RequestName> = z.input<(typeof requests)[K]['params']>;
/** Params after validation (defaults filled in): what the service receives. */
export type ParsedParams<K extends RequestName> = z.output<(typeof requests)[K]['params']>;
export type Result<K extends RequestName> = z.output<(typeof requests)[K]['result']>;

// ---------------------------------------------------------------------------------------------
// The event table

export const events = {
  'train.event': z.object({ runId: RunId, event: TrainEvent }),
  /** A run changed state; after a terminal train.event it carries the settled record (resumable or not). */
  'run.status': z.object({ runId: RunId, status: RunStatus, error: z.string().nullable(), resumable: z.boolean() }),
  'engine.status': z.object({ state: EngineState, reason: z.string().optional(), pid: z.number().int().optional() }),
  /** Long work: task names the request ('dataset.scan', 'eval.run', …); total 0 means unknown. */
  progress: z.object({ task: z.string(), id: z.string(), done: z.number(), total: z.number(), label: z.string().optional() }),
} as const satisfies Record<EventName, z.ZodTypeAny>;

type _NoExtraEvents = Exclude<keyof typeof events, EventName> extends never ? true : never;
const _noExtraEvents: _NoExtraEvents = true;
void _noExtraEvents;

export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

// ---------------------------------------------------------------------------------------------
// Errors and the client

export const ErrorCode = z.enum([
  'invalid_request', // malformed frame, unknown method, or params that fail the schema
  'not_found', // run, file or folder does not exist
  'conflict', // e.g. a run is already training, or the run is not in a state that allows this
  'unsupported', // e.g. dialogs in browser mode
  'engine_crashed', // the compute process died while handling this request
  'disconnected', // the transport to the studio closed before the reply came
  'failed', // the operation ran and failed (bad image, bad weights, …): the message says why
  'internal', // a bug
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorInfo = z.object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** The error every request rejects with; message is one line a person can act on. */
export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
    this.details = details;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
}

/**
 * Any thrown value as an error reply: a StudioError keeps its code; anything else is an operation that
 * failed, reported by its first line (stack traces stay in the logs).
 */
export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof StudioError) return e.toInfo();
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0] || 'unknown error';
  return { code: 'failed', message };
}

/** Turns a zod failure into one readable line: "settings.epochs: Number must be greater than or equal to 1". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Validates the params of a request; throws StudioError('invalid_request') naming the bad field. */
export function parseParams<K extends RequestName>(name: K, params: unknown): ParsedParams<K> {
  const r = requests[name].params.safeParse(params === undefined ? {} : params);
  if (!r.success) throw new StudioError('invalid_request', `${name}: ${describeZodError(r.error)}`, r.error.issues);
  return r.data as ParsedParams<K>;
}

/** What the renderer talks to, whichever transport carries it. */
export interface StudioClient {
  request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
}

/** What Electron's preload puts on window.studio: untyped at the boundary, typed by client.ts. */
export interface StudioBridge {
  request(name: string, params: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: ErrorInfo }>;
  on(listener: (event: string, payload: unknown) => void): () => void;
}
