// viridis (matplotlib's perceptually uniform map) at 9 stops, the same as the studio's PNG overlays
// (src/inspect/overlay.ts), so maps drawn in the window and by the engine read alike.
const STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** t in [0, 1] (clamped) → 'rgb(r g b)'. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = [0, 1, 2].map((k) => Math.round(STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f));
  return `rgb(${c[0]} ${c[1]} ${c[2]})`;
}

/** Black or white, whichever reads on viridis(t). */
export function inkOn(t: number): string {
  return t > 0.6 ? '#1b1b1b' : '#ffffff';
}
