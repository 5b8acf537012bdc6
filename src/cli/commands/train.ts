// `train`: trains a model on a folder of images, in a new run folder, with a progress bar (or the
// event stream as JSON lines with --json). Ctrl-C stops after the current step with a checkpoint;
// `resume --run DIR` continues it.
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { positiveInt, requireFlag, UsageError, type ParsedFlags } from '../args.ts';
import type { CliCommand, CliIO } from '../command.ts';
import { DEVICE_FLAG, variantFlag, withDevice } from '../common.ts';
import type { ComputeDevice } from '../../device/device.ts';
import { TRAIN_SETTING_FLAGS, flagSpecs, settingsFromFlags } from '../settings-flags.ts';
import type { TrainSettings, TrainSettingsInput } from '../../protocol/contract.ts';
import { TrainReporter } from '../../train/console-report.ts';
import type { TrainingOutcome } from '../../train/index.ts';
import { createRun } from '../../run/index.ts';
import { resolveWeightsFlag } from '../weights.ts';

/** Runs (or resumes) the run in `dir`, reporting on the terminal; exit code 0 unless it failed. */
export async function trainInTerminal(dir: string, flags: ParsedFlags, io: CliIO, device: ComputeDevice): Promise<number> {
  const json = flags.json === true;
  const tty = !json && process.stderr.isTTY === true;
  const cores = availableParallelism();
  if (!json && device.info.name === 'wasm' && cores > 1) {
    io.err(`training on one of ${cores} cores: --backend wasm-workers trains on all of them (data parallel, see the README)`);
  }
  const reporter = new TrainReporter({
    ...io,
    bar: tty ? (t) => process.stderr.write(`\r\x1b[2K${t.slice(0, (process.stderr.columns || 120) - 1)}`) : undefined,
    clearBar: tty ? () => process.stderr.write('\r\x1b[2K') : undefined,
  }, json);
  const control = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++interrupts > 1) process.exit(130);
    io.err(`\n${sig}: stopping after this step with a checkpoint (again to quit at once)`);
    control.abort('stop');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { runTraining } = await import('../../train/index.ts');
  let outcome: TrainingOutcome;
  try {
    outcome = await runTraining(dir, {
      onEvent: (e) => reporter.event(e),
      signal: control.signal,
      device,
      checkpointEverySteps: positiveInt(flags, 'checkpoint-every'),
      onPrepare: (task, done, total) => reporter.prepare(task, done, total),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (outcome.status === 'failed') throw new Error(outcome.error ?? 'training failed');
  if (!json && outcome.status !== 'finished') io.err(`continue with: mobilevit-studio resume --run ${dir}`);
  return 0;
}

export const command: CliCommand = {
  name: 'train',
  summary: 'train a model on a folder of images: classes (root/<class>/<image>, or root/train|val/<class>/<image>), segmentation masks (images/ + masks/, PASCAL VOC) or boxes (YOLO, COCO JSON)',
  flags: {
    // Every TrainSettings field, with help and default from the contract's schema.
    ...flagSpecs(TRAIN_SETTING_FLAGS),
    'run-dir': { type: 'string', description: 'run folder to create (default: <workspace>/runs/<new id>)' },
    workspace: { type: 'string', description: 'workspace folder (default: $MOBILEVIT_WORKSPACE or the per-user data folder)' },
    name: { type: 'string', description: 'a name for the run' },
    'checkpoint-every': { type: 'number', description: 'save the last checkpoint every N steps, besides every epoch end (default 50)' },
    backend: DEVICE_FLAG,
    json: { type: 'boolean', description: 'print the event stream as JSON lines instead of a progress bar' },
  },
  async run(flags, io) {
    requireFlag<string>(flags, 'data');
    await resolveWeightsFlag(flags, io); // a zoo name or repo id: pulled when not cached, and its variant
    const settings = { ...settingsFromFlags({ ...flags, variant: undefined }), data: requireFlag<string>(flags, 'data') } as TrainSettingsInput;
    // A DeepLabv3 or SSDLite name means segmentation or detection on that network's backbone (deeplabv3_mobilevit_xxs,
    // ssdlite_mobilevit_xxs: mobilevit_xxs).
    const dense = /^(deeplabv3|ssdlite)[_-](.+)$/i.exec(String(flags.variant ?? ''));
    const denseTask = dense && (dense[1].toLowerCase() === 'deeplabv3' ? 'segmentation' : 'detection');
    if (denseTask && settings.task !== undefined && settings.task !== denseTask) throw new UsageError(`--variant ${String(flags.variant)} is a ${denseTask} network, not --task ${settings.task}`);
    if (flags.variant !== undefined) settings.variant = variantFlag({ ...flags, variant: dense ? dense[2] : flags.variant }, false); // also accepts the short names (xxs, …)
    // Refused before a run folder is made for them.
    positiveInt(flags, 'checkpoint-every');
    if (!existsSync(settings.data)) throw new UsageError(`dataset folder not found: ${settings.data}`);
    const { DATASET_LAYOUTS, datasetTask } = await import('../../data/dataset-kind.ts');
    const found = datasetTask(settings.data);
    // --task insists (the task's scan then says what the folder lacks); else a DeepLabv3 or SSDLite name, else the folder says.
    settings.task ??= denseTask ?? found;
    if (!flags.json && settings.task !== 'classification') io.err(`task: ${settings.task}${flags.task === undefined && !dense ? ` (the dataset folder's layout; ${DATASET_LAYOUTS})` : ''}`);
    // Settings and a dataset that could never train make no run folder (a header scan: two classes or more).
    const [{ SettingsError, parseTrainable }, { assertTrainable, scanDataset }] = await Promise.all([import('../../protocol/trainable.ts'), import('../../data/scan.ts')]);
    let parsed: TrainSettings;
    try {
      parsed = parseTrainable(settings);
    } catch (e) {
      throw e instanceof SettingsError ? new UsageError((e as Error).message) : e;
    }
    if (parsed.task === 'classification') assertTrainable(await scanDataset(parsed.data, { valFraction: parsed.valFraction, seed: parsed.seed, verify: 'header' }));
    else {
      const [{ trainingTask }, { scanForSegmentation }, { scanForDetection }] = await Promise.all([
        import('../../train/tasks/index.ts'), import('../../train/tasks/segmentation.ts'), import('../../train/tasks/detection.ts')]);
      try {
        trainingTask(parsed.task).check?.(parsed); // settings the task cannot take (a backbone without its network, say)
        if (parsed.task === 'segmentation') await scanForSegmentation(parsed);
        else await scanForDetection(parsed);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    let run: { id: string; dir: string };
    try {
      run = createRun(settings, { runDir: flags['run-dir'] as string | undefined, workspace: flags.workspace as string | undefined, name: flags.name as string | undefined });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return withDevice(flags, io, ({ device }) => {
      if (!flags.json) io.err(`run folder: ${run.dir}`);
      return trainInTerminal(run.dir, flags, io, device);
    }, { training: parsed }); // --backend auto: the device measured fastest for this variant and size, as the studio chooses it
  },
};
