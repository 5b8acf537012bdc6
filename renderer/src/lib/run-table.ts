// The Runs view's table as data: one column per hyperparameter (read from the contract's TrainSettings
// schema, so a new setting gets its column without an edit here) and per final metric, and the sorting and
// filtering of rows by them. Pure: no Svelte, no DOM.
import { TrainSettings, type RunSummary } from '../../../src/protocol/contract.ts';
import { date, num, pct, sci, variantShort } from './format.ts';

export type Cell = string | number | boolean | null;

export interface RunColumn {
  /** The settings path ('lr', 'augmentation.hflip') or the metric's name; what a filter term names. */
  id: string;
  /** The column header. */
  label: string;
  /** What it holds, in words (the header's tooltip). */
  title: string;
  group: 'run' | 'setting' | 'metric';
  value(run: RunSummary): Cell;
  format(value: Cell): string;
}

/** The settings a run used: the recipe's 'auto' values as resolved when it started, else as asked. */
const usedSettings = (run: RunSummary): Record<string, unknown> => run.recipe?.settings ?? run.settings;

function formatSetting(v: Cell): string {
  if (v === null) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number' && v !== 0 && Math.abs(v) < 0.01) return sci(v);
  return String(v);
}

/** Schema entries (ZodDefault around ZodObject…) down to the object whose keys are nested settings. */
function objectShape(t: unknown): Record<string, unknown> | null {
  let cur = t as { _def?: { innerType?: unknown; typeName?: string }; shape?: Record<string, unknown> } | undefined;
  while (cur?._def?.innerType) cur = cur._def.innerType as typeof cur;
  return cur?._def?.typeName === 'ZodObject' && cur.shape ? cur.shape : null;
}

function settingColumns(shape: Record<string, unknown>, prefix: string[] = []): RunColumn[] {
  return Object.entries(shape).flatMap(([key, schema]): RunColumn[] => {
    const path = [...prefix, key];
    const nested = objectShape(schema);
    if (nested) return settingColumns(nested, path);
    const read = (run: RunSummary): Cell => {
      let v: unknown = usedSettings(run);
      for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join('–') : (v as Cell); // a range (cropScale) as one cell: "0.25–1"
    };
    const description = (schema as { description?: string }).description ?? key;
    return [{ id: path.join('.'), label: key, title: description, group: 'setting', value: read, format: formatSetting }];
  });
}

const metric = (id: string, label: string, title: string, value: (r: RunSummary) => number | null, format: (v: number | null) => string): RunColumn => ({
  id, label, title, group: 'metric', value, format: (v) => format(typeof v === 'number' ? v : null),
});

export const RUN_COLUMNS: RunColumn[] = [
  { id: 'name', label: 'Name', title: 'The run’s name (click it for its details, tags and notes)', group: 'run', value: (r) => r.name, format: (v) => String(v) },
  { id: 'status', label: 'Status', title: 'running, paused, stopped, finished or failed', group: 'run', value: (r) => r.status, format: (v) => String(v) },
  { id: 'created', label: 'Started', title: 'When the run was created', group: 'run', value: (r) => r.createdAt, format: (v) => date(String(v)) },
  { id: 'tags', label: 'Tags', title: 'Labels given in this view', group: 'run', value: (r) => r.tags.join(', '), format: (v) => String(v ?? '') },
  metric('epochsDone', 'epochs done', 'Epochs trained so far', (r) => r.epochsDone, (v) => (v == null ? '—' : String(v))),
  metric('bestTop1', 'best val. top-1', 'Highest validation top-1 accuracy of any epoch', (r) => r.best?.top1 ?? null, (v) => pct(v)),
  metric('bestMiou', 'best val. mIoU', 'Highest validation mean IoU of any epoch (segmentation runs; their top-1 is the pixel accuracy)', (r) => r.best?.miou ?? null, (v) => pct(v)),
  metric('bestMap', 'best val. mAP', 'Highest validation COCO mAP (IoU .50:.95) of any epoch (detection runs)', (r) => r.best?.map ?? null, (v) => pct(v)),
  metric('bestEpoch', 'best epoch', 'The epoch that reached it', (r) => r.best?.epoch ?? null, (v) => (v == null ? '—' : String(v))),
  metric('lastValTop1', 'last val. top-1', 'Validation top-1 accuracy of the last epoch', (r) => r.last?.valTop1 ?? null, (v) => pct(v)),
  metric('lastValLoss', 'last val. loss', 'Validation loss of the last epoch', (r) => r.last?.valLoss ?? null, (v) => num(v)),
  metric('lastTrainLoss', 'last train loss', 'Mean training loss of the last epoch', (r) => r.last?.trainLoss ?? null, (v) => num(v)),
  ...settingColumns(TrainSettings.shape).map((c) => (c.id === 'variant' ? { ...c, format: (v: Cell) => variantShort(String(v)) } : c)),
];

export interface SortKey {
  column: string;
  descending: boolean;
}

/** Missing values sort last whichever the direction; numbers by value, the rest by text. */
export function sortRuns(runs: RunSummary[], key: SortKey | null, columns = RUN_COLUMNS): RunSummary[] {
  const col = key && columns.find((c) => c.id === key.column);
  if (!col) return runs;
  const sign = key.descending ? -1 : 1;
  return [...runs].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    if (x === null || x === '') return y === null || y === '' ? 0 : 1;
    if (y === null || y === '') return -1;
    if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
    return sign * String(x).localeCompare(String(y), undefined, { numeric: true });
  });
}

/**
 * Keeps the runs that match every term of the query. A term is a word looked for in the name, tags, notes
 * and every cell ("baseline", "xxs"); `column:text` looks in one column ("tags:ablation", "variant:xs");
 * `column>n`, `column<n`, `column=n` compare a number ("bestTop1>0.8", "epochs=30"; percentages as 0–1).
 * Columns are named by their id or header, case and spaces ignored.
 */
export function filterRuns(runs: RunSummary[], query: string, columns = RUN_COLUMNS): RunSummary[] {
  const terms = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return runs;
  const key = (s: string) => s.toLowerCase().replace(/[\s.]/g, '');
  const find = (name: string) => columns.find((c) => key(c.id) === key(name) || key(c.label) === key(name) || key(c.id.split('.').pop()!) === key(name));
  const cellText = (c: RunColumn, r: RunSummary) => `${c.format(c.value(r))} ${String(c.value(r) ?? '')}`.toLowerCase();
  const matches = (run: RunSummary, term: string): boolean => {
    const cmp = /^([^:<>=]+)([<>=])(-?[\d.]+(?:e-?\d+)?)$/.exec(term);
    if (cmp) {
      const col = find(cmp[1]);
      const v = col?.value(run);
      if (typeof v !== 'number') return false;
      const n = Number(cmp[3]);
      return cmp[2] === '>' ? v > n : cmp[2] === '<' ? v < n : v === n;
    }
    const inCol = /^([^:]+):(.+)$/.exec(term);
    const col = inCol && find(inCol[1]);
    if (inCol && col) return cellText(col, run).includes(inCol[2]);
    const text = [run.name, run.id, run.notes, ...run.tags].join(' ').toLowerCase();
    return text.includes(term) || columns.some((c) => cellText(c, run).includes(term));
  };
  return runs.filter((run) => terms.every((t) => matches(run, t)));
}
