// The messages between the studio service and the engine (the compute process). Both sides validate
// what they receive: the engine runs user data through native code and may die mid-message, and a
// malformed message must turn into an error reply, never a hang.
import { z } from 'zod';
import {
  BackendChoice,
  BackendReport,
  ClassLabels,
  ErrorInfo,
  EvalOutcome,
  FsPath,
  ImageInput,
  RunId,
  TrainEvent,
  NetworkName,
  PREPARE_LABELS,
  type PrepareTask,
  requests,
} from './contract.ts';

/**
 * A model the engine loads: a run's checkpoint (the engine knows the run folder layout the training
 * code writes), or a variant with optional imported weights.
 */
export const EngineModel = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run'), runDir: FsPath, checkpoint: z.enum(['best', 'last']) }),
  z.object({
    kind: z.literal('weights'),
    variant: NetworkName,
    weights: FsPath.optional(),
    numClasses: z.number().int().positive().optional(),
    labels: ClassLabels.optional(),
  }),
]);
export type EngineModel = z.infer<typeof EngineModel>;

const withModel = <T extends z.ZodRawShape>(shape: T) =>
  z.object({ model: EngineModel, image: ImageInput, ...shape });

/** Every engine method: params → result. Inspection params are the contract's, with the model resolved. */
export const engineMethods = {
  /** Opens the compute device; `deviceCache` is the file of measured device speeds ('auto' reads and writes it). */
  init: { params: z.object({ backend: BackendChoice, deviceCache: FsPath.optional() }), result: BackendReport },
  /** Trains the run folder (run.json holds the settings); continues from its checkpoint when it has one. */
  'train.start': {
    params: z.object({ runId: RunId, runDir: FsPath }),
    result: z.object({ runId: RunId }),
  },
  'train.control': {
    params: z.object({ runId: RunId, action: z.enum(['stop', 'pause']) }),
    result: z.object({ runId: RunId, accepted: z.boolean() }),
  },
  eval: {
    params: z.object({ runDir: FsPath, checkpoint: z.enum(['best', 'last']), maxMisclassified: z.number().int().min(0) }),
    result: EvalOutcome,
  },
  predict: { params: withModel({ imageSize: z.number().int().optional(), scoreThreshold: z.number().optional(), mask: ImageInput.optional() }), result: requests['inspect.predict'].result },
  attention: {
    params: requests['inspect.attention'].params.omit({ model: true }).extend({ model: EngineModel }),
    result: requests['inspect.attention'].result,
  },
  receptiveField: {
    params: requests['inspect.receptiveField'].params.omit({ model: true }).extend({ model: EngineModel }),
    result: requests['inspect.receptiveField'].result,
  },
  profile: { params: requests['inspect.profile'].params, result: requests['inspect.profile'].result },
  /** Measures every compute device (src/device/auto.ts) and stores the result in init's deviceCache. */
  measure: { params: requests['devices.measure'].params, result: requests['devices.measure'].result },
  /** Writes an export of the run into outDir (ONNX and safetensors need the model, hence the engine). */
  export: {
    params: requests['runs.export'].params.omit({ runId: true }).extend({ runId: RunId, runDir: FsPath, outDir: FsPath }),
    result: requests['runs.export'].result,
  },
} as const;

export type EngineMethod = keyof typeof engineMethods;
export type EngineParams<M extends EngineMethod> = z.output<(typeof engineMethods)[M]['params']>;
export type EngineResult<M extends EngineMethod> = z.output<(typeof engineMethods)[M]['result']>;
export const ENGINE_METHODS = Object.keys(engineMethods) as EngineMethod[];

/**
 * Service → engine: a call; the cancellation of a call the service gave up on (timed out); a ping, which the
 * engine answers at once with a pong whatever it is computing, so a stuck engine can be told from a busy one.
 */
export const ToEngine = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('call'),
    id: z.number().int().nonnegative(),
    method: z.enum(ENGINE_METHODS as [EngineMethod, ...EngineMethod[]]),
    params: z.unknown(),
  }),
  z.object({ type: z.literal('cancel'), id: z.number().int().nonnegative() }),
  z.object({ type: z.literal('ping'), id: z.number().int().nonnegative() }),
]);
export type ToEngine = z.infer<typeof ToEngine>;

/** Engine → service. */
export const FromEngine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  z.object({ type: z.literal('pong'), id: z.number().int() }),
  z.object({ type: z.literal('reply'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ type: z.literal('error'), id: z.number().int(), error: ErrorInfo }),
  z.object({ type: z.literal('progress'), id: z.number().int(), done: z.number(), total: z.number(), label: z.string().optional() }),
  /**
   * A training event; the training code has already appended it to the run's metrics.jsonl. A terminal
   * one (finished, stopped, failed) is the one signal that the run is over: run.json holds its final
   * status before it is sent.
   */
  z.object({ type: z.literal('train.event'), runId: RunId, event: TrainEvent }),
  /** Preparation before a run's first step (scan, decoding, head-only features): minutes on a large folder. */
  z.object({
    type: z.literal('train.prepare'), runId: RunId, task: z.enum(Object.keys(PREPARE_LABELS) as [PrepareTask, ...PrepareTask[]]),
    done: z.number(), total: z.number(),
  }),
  /** The engine now computes on another device ('auto' chose it by measurement): app.info's backend is this. */
  z.object({ type: z.literal('device'), report: BackendReport }),
  /**
   * The engine's WebAssembly heap aborted (a pass ran past its 4 GB, or a trap left it corrupt): every later call
   * would fail with it, so the service replaces the engine at once.
   */
  z.object({ type: z.literal('fault'), reason: z.string() }),
  /** The engine noticed something wrong that is not tied to a call (e.g. a malformed message it received). */
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
]);
export type FromEngine = z.infer<typeof FromEngine>;
