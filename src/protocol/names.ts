// The names of every request and event, with no dependencies at all: the sandboxed Electron preload
// imports only this (it cannot load zod), and contract.ts checks at compile time that its schema
// tables have exactly these keys.
export const REQUEST_NAMES = [
  'app.info',
  'settings.get',
  'settings.set',
  'dialog.openFolder',
  'dialog.openFile',
  'dataset.scan',
  'dataset.folders',
  'dataset.thumbnails',
  'train.start',
  'train.stop',
  'train.pause',
  'train.resume',
  'runs.list',
  'runs.get',
  'runs.rename',
  'runs.annotate',
  'views.get',
  'views.set',
  'runs.delete',
  'runs.export',
  'eval.run',
  'inspect.predict',
  'inspect.attention',
  'inspect.receptiveField',
  'inspect.profile',
  'models.list',
  'models.pull',
  'models.cancel',
  'models.import',
  'devices.speeds',
  'devices.measure',
  'devices.cancel',
] as const;

export const EVENT_NAMES = ['train.event', 'run.status', 'engine.status', 'progress'] as const;

export type RequestName = (typeof REQUEST_NAMES)[number];
export type EventName = (typeof EVENT_NAMES)[number];

/** Electron IPC channel of one request (ipcMain.handle / ipcRenderer.invoke). */
export const requestChannel = (name: RequestName): string => `studio:${name}`;
/** The one Electron IPC channel all events travel on, as { event, payload }. */
export const EVENT_CHANNEL = 'studio:event';

export function isRequestName(x: unknown): x is RequestName {
  return typeof x === 'string' && (REQUEST_NAMES as readonly string[]).includes(x);
}
export function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && (EVENT_NAMES as readonly string[]).includes(x);
}
