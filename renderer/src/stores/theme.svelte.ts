// The colour scheme follows the operating system (prefers-color-scheme). Charts read their colours from
// here, so they redraw when the scheme changes.
import { applyChartDefaults, readPalette, type Palette } from '../lib/charts.ts';

class Theme {
  palette = $state.raw<Palette>({ text: '#000', text2: '#555', grid: '#ddd', surface: '#fff', series: ['#4f5bd5'] });
  dark = $state(false);

  init(): void {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const refresh = () => {
      this.dark = mq.matches;
      this.palette = readPalette();
      applyChartDefaults(this.palette);
    };
    refresh();
    mq.addEventListener('change', refresh);
  }

  color(i: number): string {
    return this.palette.series[i % this.palette.series.length];
  }
}

export const theme = new Theme();
