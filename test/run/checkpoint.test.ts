import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorMap } from '../../src/model/safetensors.ts';
import { CheckpointError, CheckpointStore } from '../../src/run/index.ts';
import { writeFileAtomic } from '../../src/util/atomic.ts';

const tensors = (v: number): TensorMap => new Map([['fc.weight', { shape: [2, 2], data: new Float32Array([v, v + 1, v + 2, v + 3]) }]]);
const dir = () => join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'checkpoints');

describe('checkpoint store', () => {
  it('saves and loads weights, state and meta; keeps only the files manifests point to', () => {
    const store = new CheckpointStore<{ epoch: number }>(dir());
    expect(store.load('last')).toBeNull();
    store.save('last', 10, tensors(1), tensors(100), { epoch: 1 }, { variant: 'x' });
    store.save('best', 10, tensors(1), null, { epoch: 1 });
    store.save('last', 20, tensors(2), tensors(200), { epoch: 2 });
    const last = store.load('last')!;
    expect(last.manifest.step).toBe(20);
    expect(last.manifest.meta).toEqual({ epoch: 2 });
    expect(Array.from(last.weights.get('fc.weight')!.data)).toEqual([2, 3, 4, 5]);
    expect(Array.from(last.state!.get('fc.weight')!.data)).toEqual([200, 201, 202, 203]);
    expect(store.load('best')!.manifest.step).toBe(10);
    expect(readdirSync(store.dir).sort()).toEqual([
      'best-step0000010.safetensors', 'best.json', 'last-step0000020.safetensors', 'last-step0000020.state.safetensors', 'last.json',
    ]);
  });

  it('weightsToRead: the kind asked for, else the best, else the last; null when there is none', () => {
    const store = new CheckpointStore(dir());
    expect(store.weightsToRead()).toBeNull();
    store.save('last', 10, tensors(1), null, {});
    expect(store.weightsToRead()).toEqual({ kind: 'last', path: store.weightsPath('last') });
    expect(store.weightsToRead('best')).toBeNull();
    store.save('best', 10, tensors(1), null, {});
    expect(store.weightsToRead()).toEqual({ kind: 'best', path: store.weightsPath('best') });
    expect(store.weightsToRead('last')).toEqual({ kind: 'last', path: store.weightsPath('last') });
  });

  it('saving twice at the same step (step checkpoint, then epoch end) keeps a loadable checkpoint', () => {
    const store = new CheckpointStore<{ done: boolean }>(dir());
    store.save('last', 5, tensors(1), tensors(2), { done: false });
    store.save('last', 5, tensors(1), tensors(2), { done: true });
    expect(store.load('last')!.manifest.meta).toEqual({ done: true });
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.safetensors'))).toHaveLength(2);
  });

  for (const failing of ['.safetensors', '.state.safetensors', 'last.json']) {
    it(`a full disk while writing ${failing} keeps the previous checkpoint and leaves no stray file`, () => {
      let full = false;
      const writeFile = (path: string, data: Buffer | string) => {
        if (full && path.endsWith(failing) && !(failing === '.safetensors' && path.endsWith('.state.safetensors'))) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        writeFileAtomic(path, data);
      };
      const store = new CheckpointStore<{ n: number }>(dir(), { writeFile });
      store.save('last', 10, tensors(1), tensors(100), { n: 1 });
      full = true;
      let err: unknown;
      try { store.save('last', 20, tensors(2), tensors(200), { n: 2 }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as CheckpointError).code).toBe('ENOSPC');
      expect((err as Error).message).toMatch(/step 20.*disk is full/);
      const kept = store.load('last')!;
      expect(kept.manifest.step).toBe(10);
      expect(Array.from(kept.state!.get('fc.weight')!.data)).toEqual([100, 101, 102, 103]);
      expect(readdirSync(store.dir).sort()).toEqual(['last-step0000010.safetensors', 'last-step0000010.state.safetensors', 'last.json']);
    });
  }

  it('a kill between data files and manifest: the old manifest wins and the orphans are collected on open', () => {
    const d = dir();
    const store = new CheckpointStore(d);
    store.save('last', 10, tensors(1), tensors(100), {});
    // What an interrupted save leaves: data files of step 20 and a temp file, no new manifest.
    writeFileSync(join(d, 'last-step0000020.safetensors'), 'partial');
    writeFileSync(join(d, '.last.json.123.456.tmp'), '{');
    const reopened = new CheckpointStore(d);
    expect(reopened.load('last')!.manifest.step).toBe(10);
    reopened.collect();
    expect(existsSync(join(d, 'last-step0000020.safetensors'))).toBe(false);
    expect(existsSync(join(d, '.last.json.123.456.tmp'))).toBe(false);
  });

  it('names the file when a checkpoint is damaged', () => {
    const d = dir();
    const store = new CheckpointStore(d);
    store.save('last', 3, tensors(1), null, {});
    writeFileSync(join(d, 'last-step0000003.safetensors'), Buffer.alloc(4));
    expect(() => store.load('last')).toThrow(/last-step0000003\.safetensors/);
    writeFileSync(join(d, 'last.json'), '{"format"');
    expect(() => store.load('last')).toThrow(/last\.json.*not valid JSON/);
  });
});
