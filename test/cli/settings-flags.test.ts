import { describe, expect, it } from 'vitest';
import { UsageError, parseFlags } from '../../src/cli/args.ts';
import { TRAIN_SETTING_FLAGS, flagSpecs, settingFlags, settingsFromFlags } from '../../src/cli/settings-flags.ts';
import { command as train } from '../../src/cli/commands/train.ts';
import { command as evalCommand } from '../../src/cli/commands/eval.ts';
import { TrainSettings } from '../../src/protocol/contract.ts';

/** Every leaf field of TrainSettings as a dotted path, read from the schema itself. */
function leafPaths(): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(TrainSettings.shape)) {
    if (k === 'augmentation') for (const a of Object.keys(TrainSettings.shape.augmentation.removeDefault().shape)) out.push(`augmentation.${a}`);
    else out.push(k);
    void v;
  }
  return out;
}

describe('settings flags generated from the schema', () => {
  it('every TrainSettings field has a flag on train, with the help text and default of the schema', () => {
    const paths = TRAIN_SETTING_FLAGS.map((f) => f.path.join('.'));
    expect(paths.sort()).toEqual(leafPaths().sort());
    for (const f of TRAIN_SETTING_FLAGS) expect(Object.keys(train.flags)).toContain(f.flag);
    expect(train.flags['crop-scale'].description).toMatch(/random-resized crop.*\(default auto\)$/);
    expect(train.flags['eval-crop'].description).toMatch(/centre-crop.*\(default auto\)$/);
    expect(train.flags.epochs.description).toBe('epochs (default 30)');
    expect(train.flags['grad-clip'].value).toBe('number|none');
    expect(train.flags['crop-scale'].value).toBe('auto|lo,hi');
    expect(train.flags.variant.value).toBe('mobilevit_xxs|mobilevit_xs|mobilevit_s|mobilenet_v2');
    expect(train.flags.hflip.type).toBe('boolean');
    expect(train.flags.hflip.description).toBe('random horizontal flip (default on; --no-hflip turns it off)');
  });

  it('parses flag values into nested settings the schema accepts', () => {
    const flags = parseFlags(
      ['--data', '/d', '--image-size', '32', '--crop-scale', '0.08,1', '--eval-crop', '0.9', '--no-hflip', '--color-jitter', '0.2',
        '--warmup-epochs', 'auto', '--min-lr-ratio', '0.1', '--grad-clip', 'none'],
      train.flags,
    );
    const s = settingsFromFlags(flags);
    expect(s).toEqual({
      data: '/d', imageSize: 32, warmupEpochs: 'auto', minLrRatio: 0.1, gradClip: null, evalCrop: 0.9,
      augmentation: { cropScale: [0.08, 1], hflip: false, colorJitter: 0.2 },
    });
    const parsed = TrainSettings.parse(s);
    expect(parsed.augmentation).toEqual({ cropScale: [0.08, 1], hflip: false, colorJitter: 0.2, randAugment: false });
  });

  it('leaves unset flags out, so the schema defaults apply', () => {
    expect(settingsFromFlags(parseFlags(['--data', '/d'], train.flags))).toEqual({ data: '/d' });
  });

  it('a quick run given --lr or --epochs trains its classifier by steps; without them it is solved; --head-solver wins', () => {
    const parse = (args: string[]) => settingsFromFlags(parseFlags(['--data', '/d', ...args], train.flags));
    expect(parse(['--head-only'])).toEqual({ data: '/d', headOnly: true });
    expect(parse(['--head-only', '--lr', '0.01'])).toMatchObject({ headSolver: 'steps' });
    expect(parse(['--head-only', '--epochs', '5'])).toMatchObject({ headSolver: 'steps' });
    expect(parse(['--head-only', '--lr', '0.01', '--head-solver', 'optimum'])).toMatchObject({ headSolver: 'optimum' });
    expect(parse(['--lr', '0.01'])).toEqual({ data: '/d', lr: 0.01 });
  });

  it('refuses malformed values with the flag named', () => {
    expect(() => settingsFromFlags(parseFlags(['--crop-scale', '0.5'], train.flags))).toThrow(/--crop-scale must be 2 numbers/);
    expect(() => settingsFromFlags(parseFlags(['--eval-crop', 'half'], train.flags))).toThrow(UsageError);
    expect(() => settingsFromFlags(parseFlags(['--variant', 'big'], train.flags))).toThrow(/--variant must be one of/);
    expect(() => settingsFromFlags(parseFlags(['--epochs', '0'], train.flags))).toThrow('--epochs must be a positive integer up to 10000, got "0"');
    expect(() => settingsFromFlags(parseFlags(['--freeze-backbone-epochs', '1.5'], train.flags))).toThrow(/--freeze-backbone-epochs must be a whole number from 0 to 10000/);
  });

  it('a subset keeps the schema parser and may take its own help', () => {
    const list = settingFlags(['imageSize', 'evalCrop'], { 'image-size': 'evaluation resolution' });
    expect(Object.keys(flagSpecs(list))).toEqual(['image-size', 'eval-crop']);
    expect(flagSpecs(list)['image-size'].description).toBe('evaluation resolution');
    expect(evalCommand.flags['eval-crop'].value).toBe('auto|number');
    expect(() => settingFlags(['nope'])).toThrow(/no TrainSettings field nope/);
  });
});
