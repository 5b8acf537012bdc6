// Formatting for people: every number shown carries its unit, and precision follows magnitude; networks by their labels.
import { NETWORKS } from '../../../src/protocol/contract.ts';

export function ms(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(digits)} %`;
}

/** 1234567 → "1.23 M"; used for parameters and multiply-adds (the unit word follows). */
export function count(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return `${Math.round(v)}`;
}

export function num(v: number | null | undefined, digits = 3): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** Learning rates span decades: 0.002 → "2.0e-3". */
export function sci(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return v === 0 ? '0' : v.toExponential(1);
}

export function rate(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} images/s`;
}

export function px(w: number, h?: number): string {
  return h == null ? `${Math.round(w)} px` : `${Math.round(w)} × ${Math.round(h)} px`;
}

/** "Nov 28, 16:31" this year, "Nov 28, 2025, 16:31" before. */
export function date(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const year = d.getFullYear() === new Date().getFullYear() ? undefined : 'numeric';
  return d.toLocaleString(undefined, { year, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A network's name for people ("MobileViT-XXS"), from the model registry; an unknown name as it is. */
export function variantLabel(v: string): string {
  return NETWORKS.find((n) => n.name === v)?.label ?? v;
}

/** "XXS", "XS", "S", "MNv2": for tight table cells. */
export function variantShort(v: string): string {
  return NETWORKS.find((n) => n.name === v)?.short ?? v;
}

/** A path's file name (either separator: the engine may run on Windows). */
export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
