// Dataset requests: the scan summary and thumbnails. They run in the service process: sharp decodes on
// libuv's thread pool, so the event loop (and the window's requests) stay responsive meanwhile.
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { StudioError, type ScanSummary, type Thumbnail, type TrainSettingsInput } from '../protocol/contract.ts';
import { SettingsError, parseTrainable } from '../protocol/trainable.ts';
import { summarizeFolder } from '../data/dense-summary.ts';
import { makeThumbnail } from '../data/thumbnail.ts';
import { DatasetError, assertTrainable, scanDataset, toScanSummary, type DatasetScan, type ImageEntry, type ScanOptions } from '../data/scan.ts';

/** Remembers the last few scans, so thumbnails of a folder just scanned need no second walk. */
export class DatasetService {
  private cache = new Map<string, DatasetScan>();
  private static readonly CACHE_SIZE = 4;

  async scan(path: string, opts: Pick<ScanOptions, 'valFraction' | 'seed' | 'onProgress'> = {}): Promise<ScanSummary> {
    // A folder of images and masks, or of images and boxes, is summarised by its own task's scan.
    const dense = existsSync(path) ? await summarizeFolder(resolve(path), { valFraction: opts.valFraction, seed: opts.seed }) : null;
    if (dense) return dense;
    const scan = await this.run(path, { ...opts, verify: 'decode' });
    this.remember(scan);
    return toScanSummary(scan);
  }

  async thumbnails(p: { path: string; class?: string; limit: number; offset: number; size: number }): Promise<{ items: Thumbnail[]; total: number }> {
    // A header-only scan is enough to list files; a full scan of this folder may already be cached.
    const scan = this.cached(p.path) ?? (await this.run(p.path, { verify: 'header' }));
    this.remember(scan);
    let entries: ImageEntry[] = [...scan.train, ...scan.val].sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : 1));
    if (p.class !== undefined) {
      const label = scan.classes.indexOf(p.class);
      if (label < 0) throw new StudioError('not_found', `no class "${p.class}" in ${scan.root} (classes: ${scan.classes.join(', ')})`);
      entries = entries.filter((e) => e.label === label);
    }
    const page = entries.slice(p.offset, p.offset + p.limit);
    const items: Thumbnail[] = [];
    for (const e of page) {
      try {
        const t = await makeThumbnail(e.path, { size: p.size });
        items.push({ class: scan.classes[e.label], file: relative(scan.root, e.path), dataUrl: `data:${t.mime};base64,${t.data.toString('base64')}`, width: t.width, height: t.height });
      } catch {
        // The file changed since the scan; the next scan lists it as skipped with the reason.
      }
    }
    return { items, total: entries.length };
  }

  /**
   * A run's settings (src/protocol/trainable.ts) and dataset checked before its folder is made, with a scan of the
   * folder made here when there is one (else a header scan): what would fail is refused as an invalid request,
   * leaving no failed run.
   */
  async preflight(settings: TrainSettingsInput): Promise<void> {
    try {
      const s = parseTrainable(settings);
      if (s.task !== 'classification') {
        const summary = await summarizeFolder(resolve(s.data), { valFraction: s.valFraction, seed: s.seed }, s.task);
        if (summary?.problems.length) throw new DatasetError(`dataset ${summary.root} cannot be used for ${s.task}: ${summary.problems.join('; ')}`);
        return;
      }
      assertTrainable(this.cached(s.data) ?? (await scanDataset(s.data, { valFraction: s.valFraction, seed: s.seed, verify: 'header' })));
    } catch (e) {
      if (e instanceof SettingsError || e instanceof DatasetError) throw new StudioError('invalid_request', e.message);
      throw e;
    }
  }

  private async run(path: string, opts: ScanOptions): Promise<DatasetScan> {
    try {
      return await scanDataset(path, opts);
    } catch (e) {
      if (e instanceof DatasetError) throw new StudioError(/not found/.test(e.message) ? 'not_found' : 'failed', e.message);
      throw e;
    }
  }

  private cached(path: string): DatasetScan | undefined {
    return this.cache.get(resolve(path));
  }

  private remember(scan: DatasetScan): void {
    this.cache.delete(scan.root);
    this.cache.set(scan.root, scan);
    while (this.cache.size > DatasetService.CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
