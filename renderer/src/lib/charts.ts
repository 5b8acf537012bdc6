// chart.js set up once: only the pieces the views use are registered (a smaller bundle), and the
// defaults follow the design system's CSS variables so charts match light and dark themes.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController, BarElement, CategoryScale, Decimation, Filler, Legend, LinearScale, LineController,
  LineElement, LogarithmicScale, PointElement, Tooltip,
);

export { Chart };

export interface Palette {
  text: string;
  text2: string;
  grid: string;
  surface: string;
  series: string[];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function readPalette(): Palette {
  return {
    text: cssVar('--text'),
    text2: cssVar('--text-2'),
    grid: cssVar('--grid'),
    surface: cssVar('--surface'),
    series: ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7'].map(cssVar),
  };
}

/** Applies the palette to chart.js's global defaults (called at start-up and when the scheme changes). */
export function applyChartDefaults(p: Palette): void {
  Chart.defaults.color = p.text2;
  Chart.defaults.borderColor = p.grid;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false; // live curves redraw often; animation would make them jitter
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.usePointStyle = true;
  Chart.defaults.plugins.legend.labels.boxWidth = 8;
  Chart.defaults.plugins.legend.labels.boxHeight = 8;
  Chart.defaults.plugins.tooltip.backgroundColor = p.text;
  Chart.defaults.plugins.tooltip.titleColor = p.surface;
  Chart.defaults.plugins.tooltip.bodyColor = p.surface;
}

export interface LineSeries {
  label: string;
  points: { x: number; y: number }[];
  /** Index into the palette; defaults to the series' position. */
  color?: number;
  dashed?: boolean;
  /** Draw a marker at every point (for per-epoch curves with few points). */
  markers?: boolean;
}

export interface BarSeries {
  label: string;
  data: number[];
  color?: number;
}

export type Format = (v: number) => string;
