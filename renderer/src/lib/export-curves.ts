// Curves out of the window: a chart's series as CSV (one row per x, one column per series) and the
// download of a file the page made. The CSV part is pure; download() needs a document.
import type { LineSeries } from './charts.ts';

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. */
function field(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * `x,<series 1>,<series 2>…`, a row per x any series has (ascending), a series' cell empty where it has
 * no point. Values are written in full precision, for analysis elsewhere.
 */
export function seriesCsv(series: Pick<LineSeries, 'label' | 'points'>[], xLabel: string): string {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const byX = series.map((s) => new Map(s.points.map((p) => [p.x, p.y])));
  const rows = [[xLabel, ...series.map((s) => s.label)].map(field).join(',')];
  for (const x of xs) rows.push([String(x), ...byX.map((m) => (m.has(x) ? String(m.get(x)) : ''))].join(','));
  return rows.join('\n') + '\n';
}

/** A file name from a chart's title: "Validation loss" → "validation-loss.csv". */
export function fileName(title: string, ext: 'csv' | 'png'): string {
  const base = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'chart';
  return `${base}.${ext}`;
}

/** Saves `href` (a blob: or data: URL) as `name` through the browser's download. */
export function download(name: string, href: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
