import { describe, expect, it } from 'vitest';
import { createDispatcher, type Handlers } from '../../src/engine/dispatch.ts';
import { StudioError } from '../../src/protocol/contract.ts';
import { FromEngine } from '../../src/protocol/engine.ts';

const never = async (): Promise<never> => {
  throw new Error('not called');
};
const handlers: Handlers = {
  init: async () => ({ active: 'cpu', gpu: false, reason: 'test', tried: [] }),
  'train.start': never,
  'train.control': async (p) => ({ runId: p.runId, accepted: false }),
  eval: never,
  predict: async () => {
    throw new StudioError('failed', 'cannot read image /x.png: truncated');
  },
  attention: async () => {
    throw new RangeError('block 9 is out of range\nstack detail');
  },
  receptiveField: never,
  profile: never,
  export: never,
  measure: never,
};

async function run(raw: unknown, faultOf?: (e: unknown) => string | null) {
  const out: unknown[] = [];
  await createDispatcher((m) => out.push(m), handlers, faultOf)(raw);
  for (const m of out) expect(FromEngine.safeParse(m).success).toBe(true);
  return out as any[];
}

describe('engine dispatcher', () => {
  it('answers a valid call', async () => {
    expect(await run({ type: 'call', id: 1, method: 'init', params: { backend: 'cpu' } })).toEqual([
      { type: 'reply', id: 1, ok: true, result: { active: 'cpu', gpu: false, reason: 'test', tried: [] } },
    ]);
  });

  it('answers malformed messages with an error, by id when there is one', async () => {
    expect(await run(null)).toMatchObject([{ type: 'log', level: 'warn' }]);
    expect(await run('junk')).toMatchObject([{ type: 'log' }]);
    expect(await run({ type: 'call', id: 2, method: 'rm -rf' })).toMatchObject([{ type: 'error', id: 2, error: { code: 'invalid_request' } }]);
    expect(await run({ type: 'call', id: 3, method: 'train.control', params: { runId: 'x', action: 'explode' } }))
      .toMatchObject([{ type: 'error', id: 3, error: { code: 'invalid_request', message: expect.stringMatching(/action/) } }]);
  });

  it('turns a throwing handler into an error reply with its first line', async () => {
    expect(await run({ type: 'call', id: 4, method: 'predict', params: { model: { kind: 'weights', variant: 'mobilevit_xxs' }, image: { path: '/x.png' } } }))
      .toEqual([{ type: 'error', id: 4, error: { code: 'failed', message: 'cannot read image /x.png: truncated' } }]);
    const [reply] = await run({ type: 'call', id: 5, method: 'attention', params: { model: { kind: 'weights', variant: 'mobilevit_xxs' }, image: { path: '/x.png' }, block: 9, layer: 0, head: 'mean', patch: [0, 0], pixel: 'mean' } });
    expect(reply).toEqual({ type: 'error', id: 5, error: { code: 'failed', message: 'block 9 is out of range' } });
  });
});

describe('a failure that leaves the engine unusable', () => {
  const predict = { type: 'call', id: 6, method: 'predict', params: { model: { kind: 'weights', variant: 'mobilevit_xxs' }, image: { path: '/x.png' } } };

  it('is answered, then reported as a fault for the service to replace the engine', async () => {
    const seen: unknown[] = [];
    const out = await run(predict, (e) => (seen.push(e), 'WebAssembly heap aborted (Aborted())'));
    expect(out).toEqual([
      { type: 'error', id: 6, error: { code: 'failed', message: 'cannot read image /x.png: truncated' } },
      { type: 'fault', reason: 'WebAssembly heap aborted (Aborted())' },
    ]);
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toMatch(/truncated/);
  });

  it('is not reported when the failure leaves the engine usable', async () => {
    expect(await run(predict, () => null)).toHaveLength(1);
  });
});
