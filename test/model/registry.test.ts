// The model registry: what it answers, and that a variant added to it alone (here, by the test's own copy of the
// family list) is known everywhere: the CLI's `info` and its --variant help and errors, the contract's schema and
// the window's model pickers. No other file is edited for it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'svelte/compiler';
import { render } from 'svelte/server';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ClassifierEntry, Family } from '../../src/model/registry/types.ts';

vi.mock('../../src/model/registry/families.ts', async (importOriginal) => {
  const { FAMILIES } = await importOriginal<{ FAMILIES: readonly Family[] }>();
  const vit = (dim: number) => ({ dim, depth: 1, patch: [2, 2] as [number, number], heads: 2, mlpRatio: 2 });
  const footprint = { fixed: 1e6, perImage: 1e5, perPixel: 1e2 };
  // A made-up MobileViT far smaller than XXS, declared the way the family declares its own.
  const made: ClassifierEntry = {
    name: 'mobilevit_made_up', label: 'MobileViT-Made-Up', short: 'MU', aliases: ['made_up'], timm: 'mobilevit_made_up',
    memory: { train: footprint, infer: footprint },
    spec: {
      family: 'mobilevit', stemChannels: 8, numFeatures: 48, transformerDropout: 0, classifierDropout: 0,
      stages: [
        { depth: 1, channels: 8, stride: 1, expansion: 2 },
        { depth: 1, channels: 16, stride: 2, expansion: 2 },
        { depth: 1, channels: 16, stride: 2, expansion: 2, vit: vit(16) },
        { depth: 1, channels: 24, stride: 2, expansion: 2, vit: vit(24) },
        { depth: 1, channels: 24, stride: 2, expansion: 2, vit: vit(24) },
      ],
    },
  };
  return { FAMILIES: FAMILIES.map((f) => (f.id === 'mobilevit' ? { ...f, variants: [...f.variants, made] } : f)) };
});

const MADE_UP = 'mobilevit_made_up';

/** Runs the CLI in this process (so it sees the registry above), collecting what it prints. */
async function cli(...argv: string[]) {
  const { main } = await import('../../src/cli/main.ts');
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the model registry', () => {
  it('answers names, aliases and tasks from the families', async () => {
    const r = await import('../../src/model/registry/index.ts');
    expect(r.VARIANT_NAMES).toEqual(['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s', MADE_UP, 'mobilenet_v2']);
    expect(r.parseVariant('XXS')).toBe('mobilevit_xxs');
    expect(r.parseVariant('mobilevit-s')).toBe('mobilevit_s');
    expect(r.parseVariant('mobilenetv2_100')).toBe('mobilenet_v2');
    expect(r.parseVariant('made-up')).toBe(MADE_UP);
    expect(() => r.parseVariant('constructor')).toThrow(/unknown variant "constructor" \(expected one of mobilevit_xxs, .*mobilevit_made_up/);
    expect(r.taskOf('deeplabv3_mobilevit_xs')).toBe('segmentation');
    expect(r.taskOf('ssdlite_mobilevit_s')).toBe('detection');
    expect(r.taskOf(MADE_UP)).toBe('classification');
    expect(r.taskOf('__proto__')).toBeUndefined();
    expect(r.familyOf('mobilenet_v2')).toMatchObject({ label: 'MobileNetV2', baseline: true, attention: false, keys: ['timm'] });
    expect(() => r.classifierEntry('deeplabv3_mobilevit_xs')).toThrow(/unknown variant "deeplabv3_mobilevit_xs"/);
    expect(r.classifierEntry('mobilenet_v2').timm).toBe('mobilenetv2_100');
  });

  it('pairs each dense network with the classifier whose backbone it is built on, both ways', async () => {
    const r = await import('../../src/model/registry/index.ts');
    for (const size of ['xxs', 'xs', 's']) {
      expect(r.networkOn('segmentation', `mobilevit_${size}`)).toBe(`deeplabv3_mobilevit_${size}`);
      expect(r.networkOn('detection', `mobilevit_${size}`)).toBe(`ssdlite_mobilevit_${size}`);
      expect(r.backboneOf(`deeplabv3_mobilevit_${size}`)).toBe(`mobilevit_${size}`);
      expect(r.backboneOf(`ssdlite_mobilevit_${size}`)).toBe(`mobilevit_${size}`);
    }
    expect(r.networkOn('classification', MADE_UP)).toBe(MADE_UP);
    expect(r.networkOn('segmentation', 'mobilenet_v2')).toBeUndefined();
    expect(r.networkOn('detection', MADE_UP)).toBeUndefined();
    expect(r.backboneOf('nope')).toBeUndefined();
    const { segmentationNetwork } = await import('../../src/train/tasks/segmentation.ts');
    expect(() => segmentationNetwork('mobilenet_v2')).toThrow(/variant mobilenet_v2 has no segmentation network \(segmentation backbones: mobilevit_xxs, mobilevit_xs, mobilevit_s\)/);
    const { networkFor, backboneOf, startsTask } = await import('../../renderer/src/lib/networks.ts');
    expect(networkFor('detection', 'mobilevit_xs')).toBe('ssdlite_mobilevit_xs');
    expect(networkFor('classification', MADE_UP)).toBe(MADE_UP);
    expect(backboneOf('deeplabv3_mobilevit_s')).toBe('mobilevit_s');
    // The Train form's "start from" list: a classifier starts a dense task only where that task has a network on it.
    expect(startsTask('mobilevit_xs', 'detection')).toBe(true);
    expect(startsTask('mobilenet_v2', 'segmentation')).toBe(false);
    expect(startsTask('mobilenet_v2', 'classification')).toBe(true);
    expect(startsTask('deeplabv3_mobilevit_s', 'segmentation')).toBe(true);
    expect(startsTask('deeplabv3_mobilevit_s', 'detection')).toBe(false);
  });

  it('lists the zoo in its order, timm files first, without a row for the made-up variant', async () => {
    const { ZOO } = await import('../../src/zoo/zoo.ts');
    expect(ZOO.map((e) => e.name)).toEqual(['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s', 'mobilenetv2_100', 'apple_mobilevit_xxs', 'apple_mobilevit_xs', 'apple_mobilevit_s',
      'deeplabv3_mobilevit_xxs', 'deeplabv3_mobilevit_xs', 'deeplabv3_mobilevit_s', 'ssdlite_mobilevit_xxs', 'ssdlite_mobilevit_xs', 'ssdlite_mobilevit_s']);
  });
});

describe('a variant added to the registry alone', () => {
  it('is built and described by `info`', async () => {
    const r = await cli('info', '--variant', MADE_UP, '--num-classes', '5', '--image-size', '64', '--backend', 'cpu', '--json');
    expect(r.err).not.toMatch(/mobilevit-studio info:/);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(info).toMatchObject({ variant: MADE_UP, task: 'classification', num_classes: 5, image_size: 64 });
    expect(info.blocks.at(-1)).toMatchObject({ name: 'head', output: [1, 5] });
    expect(info.blocks.map((b: { name: string }) => b.name)).toContain('stages.4.1'); // its last MobileViT block
    const xxs = JSON.parse((await cli('info', '--variant', 'xxs', '--image-size', '64', '--backend', 'cpu', '--json')).out);
    expect(info.params).toBeLessThan(xxs.params / 10);
  });

  it("is in the CLI's --variant help and in the choices an unknown --variant is told", async () => {
    expect((await cli('info', '--help')).out).toMatch(/--variant <string> {2}[^\n]*\bmobilevit_made_up\b[^\n]*deeplabv3_mobilevit_xxs/);
    // train's flags are the contract's settings schema, its --variant the schema's enum.
    expect((await cli('train', '--help')).out).toMatch(/--variant <mobilevit_xxs\|mobilevit_xs\|mobilevit_s\|mobilevit_made_up\|mobilenet_v2>/);
    expect((await cli('predict', '--help')).out).toMatch(/--variant <string> {2}mobilevit_xxs \| mobilevit_xs \| mobilevit_s \| mobilevit_made_up \| mobilenet_v2\b/);
    const bad = await cli('info', '--variant', 'mobilevit_nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown --variant "mobilevit_nope" \(expected one of .*mobilevit_made_up/);
  });

  it("parses in the contract's schema (training settings, inspection, the zoo's listing)", async () => {
    const { TrainSettings, VariantName, NETWORKS } = await import('../../src/protocol/contract.ts');
    expect(TrainSettings.parse({ data: '/data', variant: MADE_UP }).variant).toBe(MADE_UP);
    expect(VariantName.safeParse('mobilevit_nope').success).toBe(false);
    expect(NETWORKS.find((n) => (n.name as string) === MADE_UP)).toEqual({
      name: MADE_UP, label: 'MobileViT-Made-Up', short: 'MU', backbone: MADE_UP, task: 'classification', family: 'MobileViT', attention: true, baseline: false,
    });
  });

  describe("is offered by the window's model pickers", () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    // The picker's options component, compiled for the server and rendered as the window renders it.
    const dir = mkdtempSync(join(root, 'node_modules', '.network-options-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    async function options(networks: unknown): Promise<string> {
      const source = readFileSync(join(root, 'renderer/src/components/NetworkOptions.svelte'), 'utf8');
      const file = join(dir, 'NetworkOptions.js');
      writeFileSync(file, compile(source, { generate: 'server', filename: 'NetworkOptions.svelte' }).js.code);
      const { default: component } = await import(file);
      return render(component, { props: { networks } }).body;
    }

    it('the Train, Latency and Attention pickers list it with its label; run rows show its labels', async () => {
      const { attentionNetworks, profiledNetworks, taskNetworks, trainableNetworks } = await import('../../renderer/src/lib/networks.ts');
      const { variantLabel, variantShort } = await import('../../renderer/src/lib/format.ts');
      const train = await options(trainableNetworks());
      expect(train).toContain(`<option value="${MADE_UP}">MobileViT-Made-Up</option>`);
      expect(train).toContain('<option value="mobilenet_v2">MobileNetV2 (baseline)</option>');
      expect(train).not.toContain('deeplabv3'); // a classification run's picker: classifiers only
      expect(await options(taskNetworks('classification'))).toBe(train);
      expect(await options(taskNetworks('segmentation'))).toContain('<option value="deeplabv3_mobilevit_xxs">');
      const profiled = await options(profiledNetworks()); // latency: every network
      expect(profiled).toContain(`<option value="${MADE_UP}">MobileViT-Made-Up</option>`);
      expect(profiled).toContain('<option value="ssdlite_mobilevit_xxs">');
      const attention = await options(attentionNetworks());
      expect(attention).toContain(`<option value="${MADE_UP}">MobileViT-Made-Up</option>`);
      expect(attention).not.toContain('mobilenet_v2'); // no attention to show
      // …and the pickers are made of these lists.
      const uses = (file: string) => readFileSync(join(root, 'renderer/src', file), 'utf8');
      const form = uses('components/TrainSettingsForm.svelte'); // the run's task picks the list
      expect(form).toMatch(/const networks = \$derived\(taskNetworks\(f\.task\)\);/);
      expect(form).toMatch(/data-testid="train-variant">\s*<NetworkOptions \{networks\} \/>/);
      expect(uses('views/LatencyView.svelte')).toMatch(/data-testid="latency-variant">\s*<NetworkOptions networks=\{profiledNetworks\(\)\} \/>/);
      expect(uses('views/AttentionView.svelte')).toMatch(/<select id="a-variant"[^>]*>\s*<NetworkOptions networks=\{attentionNetworks\(\)\} \/>/);
      expect([variantLabel(MADE_UP), variantShort(MADE_UP), variantShort('mobilenet_v2'), variantLabel('unknown')]).toEqual(['MobileViT-Made-Up', 'MU', 'MNv2', 'unknown']);
    });
  });
});

describe("a family's key names", () => {
  it('the loader refuses a checkpoint in names its family never comes in, saying which it reads', async () => {
    const [{ createModel }, { loadWeights }] = await Promise.all([import('../../src/model/model.ts'), import('../../src/model/weights.ts')]);
    const model = createModel('mobilenet_v2', { numClasses: 2 });
    // transformers' MobileViT names (its stem): MobileNetV2 files come in timm's names only.
    const hf = new Map([['conv_stem.convolution.weight', { shape: [16, 3, 3, 3], data: new Float32Array(16 * 27) }]]);
    expect(() => loadWeights(model, hf, { source: 'apple.safetensors' }))
      .toThrow("apple.safetensors has Hugging Face transformers' key names, which MobileNetV2 does not come in (it reads timm's)");
    model.dispose();
  });
});
