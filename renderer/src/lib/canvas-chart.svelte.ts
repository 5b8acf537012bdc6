// What the chart components share: a chart.js chart on the component's canvas, made when the component is mounted
// and made again when the colour scheme changes (chart.js takes its defaults' colours when a chart is built),
// destroyed with the component; the component's `draw` fills it in the scheme's colours, and runs again whenever
// anything it reads changes.
import type { ChartType, DefaultDataPoint } from 'chart.js';
import { theme } from '../stores/theme.svelte.ts';
import { Chart, type Palette } from './charts.ts';

/** Call while the component starts: `canvas` gives its bound canvas. */
export function canvasChart<T extends ChartType, D = DefaultDataPoint<T>, L = unknown>(
  type: T,
  canvas: () => HTMLCanvasElement,
  draw: (chart: Chart<T, D, L>, palette: Palette) => void,
): void {
  let chart: Chart<T, D, L> | undefined;
  $effect(() => {
    void theme.palette;
    const c = new Chart<T, D, L>(canvas(), { type, data: { labels: [], datasets: [] } });
    chart = c;
    return () => {
      c.destroy();
      chart = undefined;
    };
  });
  // Declared after the one above, so that it runs after it when the scheme changes: it fills the new chart.
  $effect(() => {
    const palette = theme.palette;
    if (chart) draw(chart, palette);
  });
}
