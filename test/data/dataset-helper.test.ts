// The generated datasets other tests train on must be separable by something a tiny network learns quickly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeForEval } from '../../src/data/eval-transform.ts';
import { makeDataset } from '../helpers/dataset.ts';

let tmp: string;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('makeDataset', () => {
  it('writes classes that even a nearest-mean-colour rule separates', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mvs-helper-'));
    const g = await makeDataset(tmp, { classes: 6, perClass: 5, size: 32, format: 'jpeg' });
    expect(g.files).toHaveLength(30);
    const feats = await Promise.all(g.files.map(async (f) => {
      const { data } = await decodeForEval(f.path, 32);
      const m = [0, 0, 0];
      for (let i = 0; i < data.length; i++) m[i % 3] += data[i];
      return m.map((v) => v / (data.length / 3));
    }));
    let correct = 0;
    g.files.forEach((f, i) => {
      // leave-one-out nearest class mean
      const means = g.classes.map((_, c) => {
        const own = g.files.map((h, j) => (h.label === c && j !== i ? feats[j] : null)).filter((v) => v !== null);
        return [0, 1, 2].map((k) => own.reduce((s, v) => s + v[k], 0) / own.length);
      });
      const dist = means.map((m) => m.reduce((s, v, k) => s + (v - feats[i][k]) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === f.label) correct++;
    });
    expect(correct).toBe(30);
  });
});
