// Crash-safe checkpoints. A checkpoint is several files (weights with timm names, optimizer/EMA
// state, a JSON manifest), and several files cannot be replaced atomically together, so the data
// files are written first under names that carry the step, and the manifest (`last.json`,
// `best.json`) is written last: renaming it into place is the commit. Whatever fails or is killed
// before that — a full disk, kill -9, a power cut — leaves the previous manifest pointing at the
// previous, untouched files. Files no manifest points to are removed after a commit and on open.
//
// Two saves at the same step write identical data under the same names (nothing trains between
// them), so overwriting a file the current manifest points to is harmless: it is replaced
// atomically with the same bytes.
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, readSafetensors, type TensorMap } from '../model/safetensors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { FileReadError, readRegularFile } from '../util/read-file.ts';

export type CheckpointKind = 'last' | 'best';

export interface CheckpointManifest<M = unknown> {
  format: 1;
  kind: CheckpointKind;
  step: number;
  savedAt: string;
  /** File names inside the checkpoints folder. */
  weights: string;
  state: string | null;
  /** The training loop's own state (position, schedule, sampler, metrics so far). */
  meta: M;
}

export interface LoadedCheckpoint<M> {
  manifest: CheckpointManifest<M>;
  weights: TensorMap;
  state: TensorMap | null;
}

/** Writes a file atomically; replaceable so tests can inject a full disk. */
export type FileWriter = (path: string, data: Buffer | string) => void;

export class CheckpointError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const KINDS: CheckpointKind[] = ['last', 'best'];

export class CheckpointStore<M = unknown> {
  private readonly write: FileWriter;

  constructor(readonly dir: string, opts: { writeFile?: FileWriter } = {}) {
    this.write = opts.writeFile ?? writeFileAtomic;
    mkdirSync(dir, { recursive: true });
  }

  manifest(kind: CheckpointKind): CheckpointManifest<M> | null {
    const path = join(this.dir, `${kind}.json`);
    if (!existsSync(path)) return null;
    let m: CheckpointManifest<M>;
    try {
      m = JSON.parse(readRegularFile(path, { maxBytes: 16 * 1024 * 1024, what: 'checkpoint manifest' }).toString('utf8'));
    } catch (e) {
      // Never the parser's message: it quotes the file.
      throw e instanceof FileReadError ? e : new CheckpointError(`${path}: checkpoint manifest is not valid JSON`);
    }
    if (m?.format !== 1 || m.kind !== kind || typeof m.weights !== 'string' || !Number.isInteger(m.step)) {
      throw new CheckpointError(`${path}: not a checkpoint manifest this version understands`);
    }
    return m;
  }

  /** Path of the weights file a manifest points to (timm names, loadable in PyTorch). */
  weightsPath(kind: CheckpointKind): string | null {
    const m = this.manifest(kind);
    return m ? join(this.dir, m.weights) : null;
  }

  /** The weights to read: `kind`'s, or without one the best, else the last; null when there is none. */
  weightsToRead(kind?: CheckpointKind): { kind: CheckpointKind; path: string } | null {
    for (const k of kind ? [kind] : (['best', 'last'] as const)) {
      const path = this.weightsPath(k);
      if (path !== null) return { kind: k, path };
    }
    return null;
  }

  /**
   * Writes a checkpoint and commits it. On failure nothing the previous checkpoint needs is touched,
   * the files of this attempt are removed, and a CheckpointError carries the errno code (ENOSPC, …).
   */
  save(kind: CheckpointKind, step: number, weights: TensorMap, state: TensorMap | null, meta: M,
    weightsMetadata: Record<string, string> = {}): CheckpointManifest<M> {
    const tag = `${kind}-step${String(step).padStart(7, '0')}`;
    const manifest: CheckpointManifest<M> = {
      format: 1, kind, step, savedAt: new Date().toISOString(),
      weights: `${tag}.safetensors`, state: state ? `${tag}.state.safetensors` : null, meta,
    };
    const written: string[] = [];
    try {
      this.write(join(this.dir, manifest.weights), encodeSafetensors(weights, { ...weightsMetadata, step: String(step) }));
      written.push(manifest.weights);
      if (state && manifest.state) {
        this.write(join(this.dir, manifest.state), encodeSafetensors(state, { step: String(step) }));
        written.push(manifest.state);
      }
      this.write(join(this.dir, `${kind}.json`), JSON.stringify(manifest, null, 1));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const keep = this.referenced();
      for (const f of written) if (!keep.has(f)) removeQuietly(join(this.dir, f));
      const why = code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : `${code ?? (e as Error).message}`;
      throw new CheckpointError(`could not write the ${kind} checkpoint at step ${step}: ${why}`, code);
    }
    this.collect();
    return manifest;
  }

  load(kind: CheckpointKind): LoadedCheckpoint<M> | null {
    const manifest = this.manifest(kind);
    if (!manifest) return null;
    const read = (name: string) => {
      const path = join(this.dir, name);
      if (!existsSync(path)) throw new CheckpointError(`${path}: file of the ${kind} checkpoint (step ${manifest.step}) is missing`);
      return readSafetensors(path).tensors;
    };
    return { manifest, weights: read(manifest.weights), state: manifest.state ? read(manifest.state) : null };
  }

  /** Removes files no manifest points to: leftovers of failed or interrupted saves and old checkpoints. */
  collect(): void {
    const keep = this.referenced();
    for (const f of readdirSync(this.dir)) {
      const stale = (f.endsWith('.safetensors') && !keep.has(f)) || (f.startsWith('.') && f.endsWith('.tmp'));
      if (stale) removeQuietly(join(this.dir, f));
    }
  }

  private referenced(): Set<string> {
    const keep = new Set<string>();
    for (const kind of KINDS) {
      const m = this.manifest(kind);
      if (m) { keep.add(m.weights); if (m.state) keep.add(m.state); }
    }
    return keep;
  }
}

function removeQuietly(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}
