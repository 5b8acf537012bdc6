// PyTorch checkpoints read without running them, on files PyTorch 1.13 wrote (test/fixtures/torch/, with the
// values it held in expected.json): state_dicts, wrappers, views with strides, every usual dtype; and hostile
// ones: a __reduce__ that calls os.system, a pickled module object, a legacy file, lying sizes.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTorchCheckpoint, readTorchCheckpoint, TorchCheckpointError } from '../../src/model/torch-checkpoint.ts';
import { unpickle } from '../../src/util/pickle.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';

type Expected = Record<string, { shape: number[]; data: number[] }>;
const expected = JSON.parse(readFileSync(fixture('torch/expected.json'), 'utf8')) as { state_dict: Expected; views: Expected };

function expectTensors(got: ReturnType<typeof readTorchCheckpoint>, want: Expected): void {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [key, { shape, data }] of Object.entries(want)) {
    expect(got.get(key)!.shape, key).toEqual(shape);
    expect(maxAbsDiff(got.get(key)!.data, data), key).toBeLessThan(1e-6);
  }
}

describe('readTorchCheckpoint', () => {
  it.each(['state_dict.pt', 'wrapped_model.pt', 'wrapped_state_dict.pth'])('reads %s as the state_dict PyTorch saved', (file) => {
    expectTensors(readTorchCheckpoint(fixture(`torch/${file}`)), expected.state_dict);
  });

  it('follows strides and offsets of views, and converts half, bfloat16, double and int64 to float32', () => {
    expectTensors(readTorchCheckpoint(fixture('torch/views.pt')), expected.views);
  });

  it('never runs a checkpoint\'s code: a __reduce__ calling os.system is refused by name', () => {
    const marker = '/tmp/mobilevit-studio-pwned';
    rmSync(marker, { force: true });
    expect(() => readTorchCheckpoint(fixture('torch/evil_reduce.pt'))).toThrow(/refuses the global posix\.system: .*never runs code/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a pickled module object (an unknown global), naming it', () => {
    expect(() => readTorchCheckpoint(fixture('torch/module_object.pt'))).toThrow(/refuses the global torch\.nn\.modules\.linear\.Linear/);
  });

  it('says how to convert a legacy (pre-1.6) checkpoint', () => {
    expect(() => readTorchCheckpoint(fixture('torch/legacy.pt'))).toThrow(/legacy format .*convert it first: .*torch\.save\(torch\.load\(path\), new_path\)/);
  });

  it('refuses a storage that declares more elements than it holds, and a tensor reaching past its storage', () => {
    expect(() => readTorchCheckpoint(fixture('torch/huge_numel.pt'))).toThrow(/declares storage 0 as 2147483647 F32 elements .* but its entry holds 16/);
    expect(() => readTorchCheckpoint(fixture('torch/huge_size.pt'))).toThrow(/tensor \[100000000\] that reaches element 99999999 of a storage of 4/);
    // A view of stride 0 reads one element a billion times: bounded before anything is allocated.
    expect(() => readTorchCheckpoint(fixture('torch/broadcast_view.pt'))).toThrow(/declares more than 134217728 tensor elements in all \(the tensor \[1000000000\]/);
  });

  it('refuses files that are not checkpoints, and truncated archives, with one TorchCheckpointError', () => {
    expect(() => parseTorchCheckpoint(Buffer.from('hello'), 'x.pt')).toThrow(/^x\.pt: is not a PyTorch checkpoint/);
    const good = readFileSync(fixture('torch/state_dict.pt'));
    expect(() => parseTorchCheckpoint(good.subarray(0, good.length - 100), 'cut.pt')).toThrow(TorchCheckpointError);
    for (let cut = 10; cut < good.length; cut += 97) expect(() => parseTorchCheckpoint(good.subarray(0, cut), 'cut.pt')).toThrow(TorchCheckpointError);
  });
});

describe('unpickle', () => {
  const none = { findGlobal: () => undefined };

  it('reads the values of a binary pickle: ints (big ones as bigint), floats, strings, bytes, lists, tuples, dicts', () => {
    // Python: pickle.dumps({'a': [1, 2**70, -3.5, None, True], 'b': (b'xy', 'é')}, protocol=3)
    const bytes = Buffer.from('80037d71002858010000006171015d7102284b018a0900000000000000004047c00c0000000000004e886558010000006271034302787971045802000000c3a97105867106752e', 'hex');
    const v = unpickle(bytes, none) as Map<string, unknown>;
    expect(v.get('a')).toEqual([1, 2n ** 70n, -3.5, null, true]);
    expect(v.get('b')).toEqual([new Uint8Array([0x78, 0x79]), 'é']);
  });

  it('refuses protocol 0 text pickles and truncated input, naming the source', () => {
    // Python: pickle.dumps({'a': 1}, protocol=0)
    expect(() => unpickle(Buffer.from('(dp0\nVa\np1\nI1\ns.'), { ...none, source: 'x.pkl' })).toThrow(/^x\.pkl: uses protocol 0 \(text\) opcode 'p' at byte 2/);
    expect(() => unpickle(Buffer.from([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f]), { ...none, source: 'y.pkl' })).toThrow(/^y\.pkl: ends in the middle of an instruction/);
  });
});

describe('weights files by content', () => {
  it('loads a timm state_dict saved by torch.save into a model as the safetensors copy does', async () => {
    const tf = await import('@tensorflow/tfjs');
    const { createModel } = await import('../../src/model/model.ts');
    const { loadWeightsFile, readWeightsFile } = await import('../../src/model/weights-file.ts');
    await tf.setBackend('cpu');
    // mobilevit_xxs_256_b2_c10.pt: the timm fixture's weights written by torch.save (PyTorch 1.13).
    const fromTorch = readWeightsFile(fixture('torch/mobilevit_xxs_c10.pt')).tensors;
    const fromSafetensors = readWeightsFile(fixture('mobilevit_xxs_256_b2_c10.weights.safetensors')).tensors;
    for (const [key, t] of fromSafetensors) expect(maxAbsDiff(fromTorch.get(key)!.data, t.data), key).toBe(0);
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    expect(loadWeightsFile(model, fixture('torch/mobilevit_xxs_c10.pt')).loaded).toBe(model.params.size);
    model.dispose();
  });
});

describe('--weights takes a PyTorch checkpoint', () => {
  it('forward --weights <.pt> gives timm\'s logits', async () => {
    const { runCli } = await import('../helpers/cli.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'pt-forward-'));
    try {
      const out = join(dir, 'out.safetensors');
      const r = await runCli('forward', '--variant', 'mobilevit_xxs', '--weights', fixture('torch/mobilevit_xxs_c10.pt'),
        '--input', fixture('mobilevit_xxs_256_b2_c10.io.safetensors'), '--output', out, '--backend', 'wasm');
      expect(r.code, r.err.join('\n')).toBe(0);
      const { readSafetensors } = await import('../../src/model/safetensors.ts');
      const want = readSafetensors(fixture('mobilevit_xxs_256_b2_c10.io.safetensors')).tensors.get('logits')!;
      expect(maxAbsDiff(readSafetensors(out).tensors.get('logits')!.data, want.data)).toBeLessThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
