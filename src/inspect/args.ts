// Parsing the inspection selectors as typed on a command line ("3,5", "mean"). Each error names the
// flag and shows what was given.

/** "row,col" → two non-negative integers. */
export function parseCell(flag: string, text: string): [number, number] {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(text);
  if (!m) throw new RangeError(`--${flag} must be two non-negative integers "row,col", got "${text}"`);
  return [Number(m[1]), Number(m[2])];
}

/** A non-negative integer or the word "mean". */
export function parseIndexOrMean(flag: string, text: string): number | 'mean' {
  if (text === 'mean') return 'mean';
  if (!/^\d+$/.test(text)) throw new RangeError(`--${flag} must be a non-negative integer or "mean", got "${text}"`);
  return Number(text);
}

/** "ph,pw" or "mean". */
export function parseCellOrMean(flag: string, text: string): [number, number] | 'mean' {
  return text === 'mean' ? 'mean' : parseCell(flag, text);
}
