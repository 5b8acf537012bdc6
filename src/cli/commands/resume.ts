// `resume`: continues a stopped, paused, failed or killed run from its last checkpoint, exactly as
// if it had not stopped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireFlag, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { DEVICE_FLAG, withDevice } from '../common.ts';
import { FILES, readRun } from '../../run/index.ts';
import { trainInTerminal } from './train.ts';

export const command: CliCommand = {
  name: 'resume',
  summary: 'continue a run from its last checkpoint',
  flags: {
    run: { type: 'string', description: 'run folder (runs/<id>)' },
    'checkpoint-every': { type: 'number', description: 'save the last checkpoint every N steps, besides every epoch end (default 50)' },
    backend: DEVICE_FLAG,
    json: { type: 'boolean', description: 'print the event stream as JSON lines instead of a progress bar' },
  },
  async run(flags, io) {
    const dir = requireFlag<string>(flags, 'run');
    let record: ReturnType<typeof readRun>;
    try {
      record = readRun(dir);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (record.status === 'finished') throw new UsageError(`run ${dir} has finished: there is nothing to resume`);
    if (!existsSync(join(dir, FILES.checkpoints, 'last.json'))) io.err(`run ${dir} has no checkpoint yet: it starts from the beginning`);
    // --backend auto: the device measured fastest for the run's variant and size, as the studio chooses it.
    return withDevice(flags, io, ({ device }) => trainInTerminal(dir, flags, io, device), { training: record.settings });
  },
};
