// A run's exact recipe for timm's train.py: a YAML args file (train.py -c FILE; keys are train.py's
// argument names) and the command line, so the same experiment runs on a GPU server or, with torchrun, on
// a cluster. Weights trained there come back into the studio with --weights (timm keys, [0, 1] input).
// Pure: a run record in, text out.
import { resolveRecipe, type ResolvedSettings } from '../protocol/recipe.ts';
import type { RunRecord } from '../run/record.ts';
import { classifierEntry } from '../model/registry/index.ts';

/** The studio's warm-up starts here (src/train/defaults.ts WARMUP_START_LR; a test keeps them equal). */
export const STUDIO_WARMUP_START_LR = 1e-6;

export type YamlValue = string | number | boolean | number[];

export interface TimmRecipe {
  args: Record<string, YamlValue>;
  yaml: string;
  command: string;
  /** What timm cannot reproduce exactly, and what the user must do first. */
  notes: string[];
  note: string;
}

function yamlValue(v: YamlValue): string {
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v); // a JSON string is a YAML double-quoted scalar
  return String(v);
}

export function toYaml(args: Record<string, YamlValue>): string {
  return Object.entries(args).map(([k, v]) => `${k}: ${yamlValue(v)}`).join('\n') + '\n';
}

export interface TimmRecipeOptions {
  runDir: string;
  /** Where the YAML will be written (named in the command line). */
  argsFile: string;
}

export function timmRecipe(run: RunRecord, o: TimmRecipeOptions & { checkpoint?: string }): TimmRecipe {
  const resolved = run.recipe?.settings;
  const s: ResolvedSettings = resolved ?? resolveRecipe(run.settings, null).settings;
  const notes: string[] = [];
  if (!resolved) notes.push("the run never started, so its 'auto' settings are the reference recipe's");
  const layout = run.dataset?.layout ?? 'split';
  if (layout === 'flat') {
    notes.push(`the dataset is one folder per class: timm's ImageFolder needs ${s.data}/train/<class> and ${s.data}/val/<class> (the studio split off ${Math.round(s.valFraction * 100)}% with seed ${s.seed})`);
  }
  if (s.multiScale) notes.push("timm has no multi-scale sampler: it trains at the base image size");
  if (s.freezeBackboneEpochs > 0) notes.push(`timm cannot freeze the backbone for the first ${s.freezeBackboneEpochs} epochs: it trains everything from the start`);
  if (s.augmentation.randAugment) notes.push('add --aa rand-m9-mstd0.5 for RandAugment');
  const { spec, timm } = classifierEntry(s.variant);
  const args: Record<string, YamlValue> = {
    data_dir: s.data,
    train_split: 'train',
    val_split: 'val',
    model: timm,
    num_classes: run.classes.length,
    img_size: s.imageSize,
    batch_size: s.batchSize,
    epochs: s.epochs,
    opt: 'adamw',
    lr: s.lr,
    weight_decay: s.weightDecay,
    sched: 'cosine',
    sched_on_updates: true, // the studio's schedule is per step
    warmup_epochs: s.warmupEpochs,
    warmup_lr: Math.min(STUDIO_WARMUP_START_LR, s.lr),
    min_lr: s.lr * s.minLrRatio,
    cooldown_epochs: 0,
    smoothing: s.labelSmoothing,
    seed: s.seed,
    scale: [...s.augmentation.cropScale],
    ratio: [0.75, 1.3333333333333333],
    hflip: s.augmentation.hflip ? 0.5 : 0,
    color_jitter: s.augmentation.colorJitter,
    reprob: 0,
    mixup: 0,
    cutmix: 0,
    crop_pct: s.evalCrop,
    interpolation: 'bicubic',
    // The studio feeds pixels in [0, 1] with no normalisation (timm's MobileViT default; MobileNetV2's
    // default is ImageNet mean/std, which would make the weights wrong for the studio).
    mean: [0, 0, 0],
    std: [1, 1, 1],
    drop: spec.classifierDropout,
    experiment: run.id,
  };
  if (s.gradClip !== null) Object.assign(args, { clip_grad: s.gradClip, clip_mode: 'norm' });
  if (s.ema) args.model_ema = true;
  // Starting weights: timm's pretrained path adapts a classifier of another size, as the studio does.
  if (s.weights) Object.assign(args, { pretrained: true, pretrained_path: s.weights });
  const command = `python train.py -c ${shellQuote(o.argsFile)}`;
  const note = `the run ${run.id} for timm's train.py; on N GPUs: torchrun --nproc_per_node=N train.py -c ${shellQuote(o.argsFile)} (batch_size is per GPU)`;
  const header = [
    `# timm train.py args for studio run ${run.id} (${s.variant}, ${run.classes.length} classes), from ${o.runDir}`,
    `# ${command}`,
    `# cluster: torchrun --nproc_per_node=N train.py -c ${o.argsFile}   (batch_size is per GPU)`,
    `# back in the studio: python -c "import torch, safetensors.torch as st; st.save_file(torch.load('output/train/${run.id}/model_best.pth.tar', map_location='cpu')['state_dict'], 'best.safetensors')"`,
    `#   then: mobilevit-studio eval --variant ${s.variant} --weights best.safetensors --data ${s.data}`,
    ...notes.map((n) => `# note: ${n}`),
  ].join('\n');
  return { args, yaml: `${header}\n${toYaml(args)}`, command, notes, note };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
