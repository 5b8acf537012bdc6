// The studio service: implements every request of the contract and emits its events. It owns the
// workspace on disk and the engine process; it knows nothing of Electron or WebSocket — a transport
// calls handle() with whatever arrived and sends back the reply, which is always well-formed.
import { join } from 'node:path';
import {
  errorInfo,
  events as eventSchemas,
  describeZodError,
  isRequestName,
  isTerminalEvent,
  PREPARE_LABELS,
  parseParams,
  requests,
  StudioError,
  type AppInfo,
  type EventName,
  type EventPayload,
  type ModelRef,
  type ParsedParams,
  type RequestName,
  type Result,
  type TrainEvent,
  type RunSummary,
} from '../protocol/contract.ts';
import type { EngineModel } from '../protocol/engine.ts';
import type { Reply } from '../protocol/wire.ts';
import { EngineHandle, type EngineOptions } from './engine-handle.ts';
import { forkEngine, type SpawnEngine } from './engine-process.ts';
import type { Dialogs, StudioHost } from './host.ts';
import { keptRuntimes, runtimesFileBeside } from '../device/runtime-file.ts';
import { DEVICE_SPEEDS_FILE, SpeedFile } from '../device/speed-file.ts';
import { createRun, defaultWorkspace, probeRunLock, recordFailure } from '../run/index.ts';
import { TFJS_VERSION, appVersion } from '../util/version.ts';
import { DatasetService } from './datasets.ts';
import { workspaceFolders } from './dataset-folders.ts';
import { ZooService } from './models.ts';
import { RunStore } from './runs.ts';
import { SettingsStore } from './settings.ts';
import { ViewStore } from './views.ts';
import { checkFixedWorkspace } from './workspace.ts';

export interface ServiceOptions {
  mode: AppInfo['mode'];
  /** Fixes the workspace (tests, `serve --workspace`); otherwise settings, $MOBILEVIT_WORKSPACE, the OS folder. */
  workspace?: string;
  /** Where settings.json lives; default: the fixed workspace, else the OS per-user data folder. */
  configDir?: string;
  spawnEngine?: SpawnEngine;
  /** Engine call timeouts and the ping bound (tests shorten them); default: engine-handle.ts's. */
  engine?: EngineOptions;
  /** Native open dialogs (Electron). Absent: dialog.* fail with 'unsupported'. */
  dialogs?: Dialogs;
  versions?: { electron?: string; chrome?: string };
}

/** The service's options that come from the shell it runs in (the tests and the CLI's service set them directly). */
export function hostOptions(host: StudioHost): Pick<ServiceOptions, 'mode' | 'spawnEngine' | 'dialogs' | 'versions'> {
  return { mode: host.mode, spawnEngine: () => host.spawnEngine(), ...(host.dialogs ? { dialogs: host.dialogs } : {}), versions: host.versions };
}

type Handlers = { [K in RequestName]: (p: ParsedParams<K>, ctx: RequestContext) => Promise<Result<K>> | Result<K> };
interface RequestContext {
  progress(done: number, total: number, label?: string): void;
}
type Listener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export class StudioService {
  readonly engine: EngineHandle;
  private readonly settings: SettingsStore;
  /** The measured device speeds beside settings.json (the engine writes them). */
  private readonly speeds: SpeedFile;
  /** The Measure button's measurement in flight, which devices.cancel stops. */
  private measuring: AbortController | null = null;
  private runs: RunStore;
  private readonly datasets = new DatasetService();
  private readonly zoo = new ZooService();
  private readonly listeners = new Set<Listener>();
  /** The run the engine is training; the engine trains one at a time. */
  private active: { id: string; dir: string } | null = null;
  private nextTaskId = 1;

  constructor(private readonly opts: ServiceOptions) {
    if (opts.workspace !== undefined) checkFixedWorkspace(opts.workspace); // never /, /etc, /proc, …
    const fallback = opts.workspace ?? defaultWorkspace();
    this.settings = new SettingsStore(join(opts.configDir ?? fallback, 'settings.json'), fallback);
    this.speeds = new SpeedFile(join(opts.configDir ?? fallback, DEVICE_SPEEDS_FILE));
    if (this.settings.problem) console.warn(`studio: ${this.settings.problem}`);
    this.runs = this.runStore(opts.workspace ?? this.settings.get().workspace);
    this.engine = new EngineHandle(opts.spawnEngine ?? (() => forkEngine()), () => this.settings.get().backend, { deviceCache: this.speeds.path, ...opts.engine });
    this.engine.onEvent((e) => {
      if (e.kind === 'status') this.emit('engine.status', { state: e.state, ...(e.reason ? { reason: e.reason } : {}), ...(e.pid ? { pid: e.pid } : {}) });
      else if (e.kind === 'train.event') this.onTrainEvent(e.runId, e.event);
      else if (e.kind === 'train.prepare') {
        this.emit('progress', { task: 'train.prepare', id: e.runId, done: e.done, total: e.total, label: PREPARE_LABELS[e.task] });
      }
      else this.onEngineCrash(e.reason);
    });
  }

  get workspace(): string {
    return this.runs.workspace;
  }

  /** The run being trained, if any (the window asks before closing while one is). */
  activeRun(): string | null {
    return this.active?.id ?? null;
  }

  on(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Handles one request from any transport. Never throws, never leaves a request unanswered. */
  async handle(method: unknown, params: unknown): Promise<Reply> {
    try {
      if (!isRequestName(method)) throw new StudioError('invalid_request', `unknown request "${String(method).slice(0, 100)}"`);
      const parsed = parseParams(method, params);
      const taskId = `${method}#${this.nextTaskId++}`;
      const ctx: RequestContext = {
        progress: (done, total, label) => this.emit('progress', { task: method, id: taskId, done, total, ...(label ? { label } : {}) }),
      };
      const result = await (this.handlers[method] as (p: unknown, c: RequestContext) => unknown)(parsed, ctx);
      const checked = requests[method].result.safeParse(result);
      if (!checked.success) throw new StudioError('internal', `${method}: produced a malformed result: ${describeZodError(checked.error)}`);
      return { ok: true, result: checked.data };
    } catch (e) {
      if (!(e instanceof StudioError)) console.error(`studio: ${String(method)} failed:`, e);
      return { ok: false, error: errorInfo(e) };
    }
  }

  async close(): Promise<void> {
    this.engine.close();
    this.listeners.clear();
  }

  private emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    // Our own events are checked too: a bad one is a bug here, better caught than sent.
    const r = eventSchemas[event].safeParse(payload);
    if (!r.success) {
      console.error(`studio: not sending malformed ${event} event: ${describeZodError(r.error)}`);
      return;
    }
    for (const cb of this.listeners) {
      try {
        cb(event, r.data as EventPayload<E>);
      } catch (e) {
        console.error(`studio: a ${event} listener threw`, e);
      }
    }
  }

  /** The runs of a workspace; the run this service has handed to the engine counts as live from the start. */
  private runStore(workspace: string): RunStore {
    return new RunStore(workspace, (id) => this.active?.id === id);
  }

  /** A terminal event is the one signal that a run is over: run.json is final before it is sent. */
  private onTrainEvent(runId: string, event: TrainEvent): void {
    this.emit('train.event', { runId, event });
    if (!isTerminalEvent(event)) return;
    if (this.active?.id === runId) this.active = null;
    void this.emitStatus(runId);
  }

  private onEngineCrash(reason: string): void {
    const run = this.active;
    if (!run) return;
    this.active = null;
    try {
      const failed = recordFailure(run.dir, reason);
      if (failed) this.emit('train.event', { runId: run.id, event: failed });
    } catch (e) {
      console.error(`studio: could not record the failure of run ${run.id}:`, e);
    }
    void this.emitStatus(run.id);
  }

  private async emitStatus(runId: string): Promise<void> {
    try {
      const s = await this.runs.summary(runId);
      this.emit('run.status', { runId, status: s.status, error: s.error, resumable: s.resumable });
    } catch {
      // Deleted meanwhile: nothing to report.
    }
  }

  private async resolveModel(m: ModelRef): Promise<EngineModel> {
    if ('runId' in m) return { kind: 'run', runDir: this.runs.dirOf(m.runId), checkpoint: m.checkpoint };
    // A zoo name (mobilevit_xxs, apple/mobilevit-small): its cached file, pulled first when missing.
    const zoo = await this.zoo.resolve(m.weights, this.workspace);
    return { kind: 'weights', ...m, ...(zoo ?? {}) };
  }

  private requireIdle(what: string): void {
    if (this.active) throw new StudioError('conflict', `${what}: run ${this.active.id} is training; stop or pause it first`);
  }

  private async startTraining(runId: string, dir: string): Promise<void> {
    this.active = { id: runId, dir };
    try {
      await this.engine.call('train.start', { runId, runDir: dir });
    } catch (e) {
      if (this.active?.id === runId) this.active = null;
      if (!(e instanceof StudioError && e.code === 'engine_crashed')) {
        const failed = recordFailure(dir, errorInfo(e).message);
        if (failed) this.emit('train.event', { runId, event: failed });
      }
      await this.emitStatus(runId);
      throw e;
    }
    await this.emitStatus(runId);
  }

  private async control(runId: string, action: 'stop' | 'pause'): Promise<RunSummary> {
    this.runs.dirOf(runId);
    if (this.active?.id !== runId) {
      const holder = await probeRunLock(this.runs.dirOf(runId));
      const elsewhere = holder ? ` here; process ${holder.pid ?? '(unknown)'} trains it (stop that process)` : '';
      throw new StudioError('conflict', `run ${runId} is not training${elsewhere}`);
    }
    const r = await this.engine.call('train.control', { runId, action });
    if (!r.accepted) throw new StudioError('conflict', `run ${runId} is already stopping`);
    return this.runs.summary(runId);
  }

  private readonly handlers: Handlers = {
    'app.info': () => ({
      name: 'MobileViT Studio',
      version: appVersion(),
      mode: this.opts.mode,
      platform: `${process.platform}-${process.arch}`,
      versions: { node: process.versions.node, tfjs: TFJS_VERSION, ...this.opts.versions },
      workspace: this.workspace,
      backend: this.engine.backend,
      engine: {
        state: this.engine.state,
        ...(this.engine.pid ? { pid: this.engine.pid } : {}),
        ...(this.engine.lastCrash ? { lastCrash: this.engine.lastCrash } : {}),
      },
      dialogs: this.opts.dialogs !== undefined,
    }),

    'settings.get': () => ({ ...this.settings.get(), workspace: this.workspace }),

    'settings.set': async (p) => {
      if (p.workspace !== undefined) {
        if (this.opts.workspace) throw new StudioError('conflict', `the workspace is fixed to ${this.opts.workspace} for this session`);
        this.requireIdle('changing the workspace');
      }
      const before = this.settings.get().backend;
      const next = this.settings.set(p);
      this.runs = this.runStore(next.workspace);
      // A new backend needs a fresh engine; while a run trains, it applies from the next start.
      if (next.backend !== before && !this.active && this.engine.state === 'ready') await this.engine.restart();
      return next;
    },

    'views.get': () => new ViewStore(this.workspace).get(),
    'views.set': (p) => new ViewStore(this.workspace).set(p),

    'dialog.openFolder': async (p) => {
      if (!this.opts.dialogs) throw new StudioError('unsupported', 'open dialogs exist only in the desktop app: type the folder path instead');
      return { path: await this.opts.dialogs.openFolder(p) };
    },
    'dialog.openFile': async (p) => {
      if (!this.opts.dialogs) throw new StudioError('unsupported', 'open dialogs exist only in the desktop app: type the file path instead');
      return { path: await this.opts.dialogs.openFile(p) };
    },

    'dataset.scan': (p, ctx) => this.datasets.scan(p.path, { valFraction: p.valFraction, seed: p.seed, onProgress: (s) => ctx.progress(s.done, s.total, s.path) }),
    'dataset.folders': () => ({ workspace: this.workspace, folders: workspaceFolders(this.workspace) }),
    'dataset.thumbnails': (p) => this.datasets.thumbnails(p),

    'train.start': async (p) => {
      this.requireIdle('starting a run');
      const zoo = await this.zoo.resolve(p.settings.weights, this.workspace); // a zoo name: its cached file and variant
      const settings = zoo ? { ...p.settings, ...zoo } : p.settings;
      await this.datasets.preflight(settings); // settings that could never train make no run folder
      this.requireIdle('starting a run'); // again: another run may have started during a download (or the scan)
      const { id, dir } = createRun(settings, { workspace: this.workspace, name: p.name });
      await this.startTraining(id, dir);
      return { runId: id };
    },
    'train.stop': (p) => this.control(p.runId, 'stop'),
    'train.pause': (p) => this.control(p.runId, 'pause'),
    'train.resume': async (p) => {
      const s = await this.runs.summary(p.runId);
      if (this.active?.id === p.runId || s.status === 'running') throw new StudioError('conflict', `run ${p.runId} is already training${s.status === 'running' && this.active?.id !== p.runId ? ' in another process' : ''}`);
      this.requireIdle(`resuming run ${p.runId}`);
      if (!s.resumable) throw new StudioError('conflict', `run ${p.runId} cannot be resumed (${s.status === 'finished' ? 'it finished' : 'it has no checkpoint yet'})`);
      await this.startTraining(p.runId, this.runs.dirOf(p.runId));
      return this.runs.summary(p.runId);
    },

    'runs.list': async () => ({ runs: await this.runs.list() }),
    'runs.get': (p) => this.runs.detail(p.runId),
    'runs.rename': (p) => this.runs.rename(p.runId, p.name),
    'runs.annotate': (p) => this.runs.annotate(p.runId, { tags: p.tags, notes: p.notes }),
    'runs.delete': async (p) => {
      if (this.active?.id === p.runId) throw new StudioError('conflict', `run ${p.runId} is training; stop it before deleting it`);
      await this.runs.delete(p.runId);
      return { runId: p.runId };
    },

    'runs.export': async (p, ctx) => {
      const runDir = this.runs.dirOf(p.runId);
      await this.runs.summary(p.runId); // a missing run is 'not found' here, not an engine error
      return this.engine.call('export', { ...p, runDir, outDir: join(runDir, 'exports') }, { onProgress: ctx.progress });
    },
    'eval.run': async (p, ctx) => {
      const r = await this.engine.call('eval', { runDir: this.runs.dirOf(p.runId), checkpoint: p.checkpoint, maxMisclassified: p.maxMisclassified }, { onProgress: ctx.progress });
      return { runId: p.runId, ...r };
    },
    'inspect.predict': async (p) => this.engine.call('predict', { ...p, model: await this.resolveModel(p.model) }),
    'inspect.attention': async (p) => this.engine.call('attention', { ...p, model: await this.resolveModel(p.model) }),
    'inspect.receptiveField': async (p, ctx) => this.engine.call('receptiveField', { ...p, model: await this.resolveModel(p.model) }, { onProgress: ctx.progress }),
    'inspect.profile': (p, ctx) => this.engine.call('profile', p, { onProgress: ctx.progress }),

    'models.list': () => this.zoo.list(this.workspace),
    'models.pull': (p, ctx) => this.zoo.pull(p.name, this.workspace, ctx.progress),
    'models.cancel': (p) => this.zoo.cancel(p.name),
    'models.import': (p) => this.zoo.import(p.file, p.name, this.workspace),

    'devices.speeds': () => ({ table: this.speeds.latest(), runtimes: keptRuntimes(runtimesFileBeside(this.speeds.path)) }), // where the engine keeps them (init's deviceCache)
    'devices.measure': async (p, ctx) => {
      this.requireIdle('measuring the devices');
      if (this.measuring) throw new StudioError('conflict', 'the devices are being measured already');
      const controller = new AbortController();
      this.measuring = controller;
      try {
        return await this.engine.call('measure', p, { onProgress: ctx.progress, signal: controller.signal });
      } finally {
        if (this.measuring === controller) this.measuring = null;
      }
    },
    'devices.cancel': () => {
      const measuring = this.measuring;
      measuring?.abort();
      return { cancelled: measuring !== null };
    },
  };
}
