import { describe, expect, it } from 'vitest';
import {
  events, parseParams, requests, REQUEST_NAMES, EVENT_NAMES, StudioError, TrainEvent, TrainSettings,
} from '../../src/protocol/contract.ts';

describe('contract', () => {
  it('has a params and a result schema for every request name, and a schema for every event', () => {
    expect(Object.keys(requests).sort()).toEqual([...REQUEST_NAMES].sort());
    expect(Object.keys(events).sort()).toEqual([...EVENT_NAMES].sort());
  });

  it('fills training defaults and rejects bad fields naming them', () => {
    const s = TrainSettings.parse({ data: '/d' });
    expect(s).toMatchObject({ variant: 'mobilevit_xxs', imageSize: 256, labelSmoothing: 0.1, multiScale: false });
    expect(s.augmentation.hflip).toBe(true);
    expect(() => parseParams('train.start', { settings: { data: '/d', epochs: 0 } })).toThrow(/settings\.epochs/);
    expect(() => parseParams('train.start', { settings: { data: '/d', bogus: 1 } })).toThrow(/bogus/);
    expect(() => parseParams('train.start', { settings: { data: '/d', variant: 'resnet' } })).toThrow(/settings\.variant/);
  });

  it('rejects malformed params of every kind with invalid_request, never anything else', () => {
    const junk: unknown[] = [null, 42, 'x', [], { runId: '../../etc' }, { path: '' }, { path: 'a\0b' }, { model: 1 }];
    for (const name of REQUEST_NAMES) {
      for (const j of junk) {
        let error: unknown = null;
        try { parseParams(name, j); } catch (e) { error = e; }
        expect(error, `${name} accepted ${JSON.stringify(j)}`).toBeInstanceOf(StudioError);
        expect((error as StudioError).code).toBe('invalid_request');
        expect((error as StudioError).message.startsWith(name)).toBe(true);
      }
    }
  });

  it('accepts image paths and base64 image data URLs, refuses other data URLs', () => {
    const base = { model: { variant: 'mobilevit_xxs' }, patch: [0, 0] };
    expect(() => parseParams('inspect.attention', { ...base, image: { path: '/a.png' } })).not.toThrow();
    expect(() => parseParams('inspect.attention', { ...base, image: { dataUrl: 'data:image/png;base64,iVBORw0KGgo=' } })).not.toThrow();
    expect(() => parseParams('inspect.attention', { ...base, image: { dataUrl: 'data:text/html;base64,PGI+' } })).toThrow(/dataUrl/);
    const p = parseParams('inspect.attention', { ...base, image: { path: '/a.png' } });
    expect(p).toMatchObject({ block: 0, layer: 'rollout', head: 'mean', pixel: 'mean' });
  });

  it('discriminates training events by type', () => {
    const step = { type: 'step', time: 1, epoch: 0, step: 3, loss: 2.3, lr: 1e-3, imagesPerSec: 50, dataWaitMs: 2, resolution: 64, batchSize: 8 };
    expect(TrainEvent.parse(step)).toEqual(step);
    expect(TrainEvent.safeParse({ ...step, loss: 'x' }).success).toBe(false);
    expect(TrainEvent.safeParse({ ...step, type: 'nope' }).success).toBe(false);
    expect(TrainEvent.parse({ type: 'failed', time: 2, error: 'engine crashed' })).toMatchObject({ type: 'failed' });
  });
});
