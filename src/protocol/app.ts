// The contract's app domain: the app's facts, the engine's state, settings, dialogs and the views' saved state.
import { z } from 'zod';
import { BackendChoice, FsPath } from './common.ts';
import { BackendReport } from './devices.ts';
import { TrainViewState } from './training.ts';

export const EngineState = z.enum(['idle', 'starting', 'ready', 'crashed', 'stopped']);
export type EngineState = z.infer<typeof EngineState>;

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser', 'cli']),
  platform: z.string(),
  versions: z.object({ node: z.string(), tfjs: z.string(), electron: z.string().optional(), chrome: z.string().optional() }),
  workspace: z.string(),
  /** Null until the engine has started once (it starts on first use). */
  backend: BackendReport.nullable(),
  engine: z.object({ state: EngineState, pid: z.number().int().optional(), lastCrash: z.string().optional() }),
  /** Whether native open dialogs exist (Electron); in browser mode the UI shows a path field instead. */
  dialogs: z.boolean(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const Settings = z.object({
  workspace: z.string(),
  backend: BackendChoice,
});
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = z.object({ workspace: FsPath.optional(), backend: BackendChoice.optional() }).strict();

export const FileFilter = z.object({ name: z.string().max(100), extensions: z.array(z.string().regex(/^[A-Za-z0-9*]{1,10}$/)).max(20) });

export const DialogResult = z.object({ path: z.string().nullable() });

export const ViewState = z.object({ train: TrainViewState.nullable() });
export type ViewState = z.infer<typeof ViewState>;
export const ViewStatePatch = z.object({ train: TrainViewState.optional() }).strict();
