// `models list` / `models pull <name|repo>`: the zoo of ImageNet checkpoints on the Hugging Face Hub
// ($HF_ENDPOINT, $HF_TOKEN, HTTPS_PROXY/NO_PROXY), cached under <workspace>/models. `models import <file> --as
// <name>` puts a local copy in that cache (offline, or from a mirror the studio cannot reach itself).
import { UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { JSON_FLAG, table } from '../common.ts';
import { downloadProgress, workspaceOf } from '../weights.ts';
import { importZoo, listZoo, pullZoo, zooEntryOrThrow, type PullResult } from '../../zoo/store.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function entryOf(name: string) {
  try { return zooEntryOrThrow(name); } catch (e) { throw new UsageError((e as Error).message); }
}

export const command: CliCommand = {
  name: 'models',
  summary: 'the model zoo: `models list`, `models pull <name|repo>` (ImageNet weights from the Hugging Face Hub), `models import <file> [--as <name>]`',
  flags: {
    json: JSON_FLAG,
    workspace: { type: 'string', description: 'workspace folder whose models/ holds the cache (default: $MOBILEVIT_WORKSPACE or the per-user data folder)' },
    as: { type: 'string', description: 'models import: the zoo model the file is (see models list), e.g. mobilevit_xxs; default: recognised by its key names and size' },
  },
  positional: { min: 1, max: 2, value: 'list | pull <name|repo> | import <file.safetensors|.pt|.bin>' },
  async run(flags, io, args = []) {
    const [sub, name] = args;
    const workspace = workspaceOf(flags);
    if (sub === 'list') {
      if (name !== undefined) throw new UsageError('models list takes no name');
      const rows = listZoo(workspace);
      if (flags.json) { io.out(JSON.stringify(rows)); return 0; }
      const score = (r: (typeof rows)[number]) => r.top1 !== null ? `ImageNet top-1 ${r.top1.toFixed(1)} %`
        : r.score ? `${r.score.metric === 'mIoU' ? 'VOC mIoU' : 'COCO mAP'} ${r.score.value.toFixed(1)} %` : '?';
      io.out(table(['name', 'variant', 'source', 'size', 'cached', 'reported'],
        rows.map((r) => [r.name, r.variant, `${r.repo}@${r.revision}`, `${r.sizeApprox ? '≈' : ''}${mb(r.size)}`, r.cached ? 'yes' : 'no', score(r)])));
      io.err(`cache: ${workspace}/models   (hub: ${process.env.HF_ENDPOINT || 'https://huggingface.co'})`);
      return 0;
    }
    if (sub === 'pull') {
      if (name === undefined) throw new UsageError('models pull needs a name or repo id (see models list)');
      const entry = entryOf(name);
      const control = new AbortController();
      const onSignal = () => control.abort();
      process.once('SIGINT', onSignal);
      const progress = downloadProgress(entry.repo, io);
      let r;
      try {
        r = await pullZoo(entry, workspace, { onProgress: progress.onProgress, signal: control.signal });
      } finally {
        progress.done();
        process.off('SIGINT', onSignal);
      }
      report(r, r.downloaded ? 'pulled' : 'cached');
      return 0;
    }
    if (sub === 'import') {
      if (name === undefined) throw new UsageError('models import needs a weights file (.safetensors, or a PyTorch .pt/.bin): models import <file> [--as <name>]');
      report(await importZoo(name, typeof flags.as === 'string' ? entryOf(flags.as) : undefined, workspace), 'imported');
      return 0;
    }
    throw new UsageError(sub === undefined ? 'models needs a subcommand: list, pull <name|repo> or import <file> [--as <name>]' : `unknown subcommand "${sub}" (list, pull or import)`);

    function report(r: PullResult, verb: string): void {
      for (const n of r.notes) io.err(n);
      if (flags.json) io.out(JSON.stringify({ repo: r.repo, revision: r.revision, path: r.path, sha256: r.sha256, size: r.size }));
      else io.out(`${verb} ${r.repo}@${r.revision}: ${r.path} (${mb(r.size)}, sha256 ${r.sha256}); use --weights ${r.name}`);
    }
  },
};
