// The dataset folder the user is working with: its scan, a page of thumbnails, and recent folders
// (remembered in localStorage, since the browser mode has no native folder dialog).
import type { ScanSummary, Thumbnail } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

const RECENT_KEY = 'mobilevit-studio.recentFolders';
const MAX_RECENT = 8;
export const THUMB_PAGE = 24;

function loadRecent(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

class Dataset {
  recent = $state<string[]>(loadRecent());
  /** Starts at the last folder opened, so a reloaded window can train on it again straight away. */
  path = $state(this.recent[0] ?? '');
  scan = $state.raw<ScanSummary | null>(null);
  scanning = $state(false);
  problem = $state.raw<Problem | null>(null);
  thumbs = $state.raw<Thumbnail[]>([]);
  thumbsTotal = $state(0);
  thumbsClass = $state<string | null>(null);
  thumbsLoading = $state(false);
  thumbsProblem = $state.raw<Problem | null>(null);
  /** The workspace's folders a dataset can be opened from (dataset.folders): a browser on another device cannot type a path. */
  folders = $state.raw<{ name: string; path: string }[]>([]);
  workspace = $state<string | null>(null);

  async loadFolders(): Promise<void> {
    try {
      const r = await studio.request('dataset.folders', {});
      this.folders = r.folders;
      this.workspace = r.workspace;
    } catch {
      // The list is a convenience beside the path field, which still works.
    }
  }

  async open(path: string): Promise<void> {
    const p = path.trim();
    if (!p) {
      this.problem = { title: 'No folder given', message: 'Type or paste the path of a dataset folder.', hint: 'It should hold one sub-folder per class.' };
      return;
    }
    this.path = p;
    this.scanning = true;
    this.problem = null;
    try {
      const scan = await studio.request('dataset.scan', { path: p });
      this.scan = scan;
      this.remember(scan.root);
      this.thumbsClass = null;
      this.thumbs = [];
      this.thumbsTotal = 0;
      // Thumbnails browse class folders: a segmentation or detection folder has none.
      if ((scan.task ?? 'classification') === 'classification') await this.loadThumbs(0);
    } catch (e) {
      this.problem = toProblem(e, 'Could not read this folder');
    } finally {
      this.scanning = false;
      studio.clearProgress('dataset.scan');
    }
  }

  async loadThumbs(offset: number, cls: string | null = this.thumbsClass): Promise<void> {
    if (!this.scan) return;
    this.thumbsClass = cls;
    this.thumbsLoading = true;
    this.thumbsProblem = null;
    try {
      const r = await studio.request('dataset.thumbnails', {
        path: this.scan.root,
        ...(cls ? { class: cls } : {}),
        limit: THUMB_PAGE,
        offset,
        size: 96,
      });
      this.thumbs = offset === 0 ? r.items : [...this.thumbs, ...r.items];
      this.thumbsTotal = r.total;
    } catch (e) {
      this.thumbsProblem = toProblem(e, 'Could not load thumbnails');
    } finally {
      this.thumbsLoading = false;
    }
  }

  forget(path: string): void {
    this.recent = this.recent.filter((r) => r !== path);
    this.save();
  }

  private remember(path: string): void {
    this.recent = [path, ...this.recent.filter((r) => r !== path)].slice(0, MAX_RECENT);
    this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(RECENT_KEY, JSON.stringify(this.recent));
    } catch {
      // Storage can be unavailable (private windows); recent folders are a convenience.
    }
  }
}

export const dataset = new Dataset();
