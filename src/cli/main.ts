// `mobilevit-studio <command> [flags]`: dispatches to the commands in ./commands, turns every
// expected failure into one line on stderr and a non-zero exit.
import { parseFlags, UsageError } from './args.ts';
import type { CliCommand, CliIO } from './command.ts';
import { COMMANDS } from './commands/index.ts';

const stdio: CliIO = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: mobilevit-studio <command> [flags]   (--help after a command lists its flags)', '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)].join('\n');
}

function commandHelp(c: CliCommand): string {
  const lines = [`mobilevit-studio ${c.name}: ${c.summary}`, ''];
  for (const [name, f] of Object.entries(c.flags)) {
    const dflt = f.default !== undefined ? ` (default ${f.default})` : '';
    lines.push(`  --${name}${f.type === 'boolean' ? '' : ' <' + (f.value ?? f.type) + '>'}  ${f.description}${dflt}`);
  }
  return lines.join('\n');
}

/** Separates a command's positional arguments from its flags (a non-boolean flag's value stays with it). */
function splitPositional(argv: string[], cmd: CliCommand): { flagArgs: string[]; args: string[] } {
  if (!cmd.positional) return { flagArgs: argv, args: [] };
  const flagArgs: string[] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { args.push(a); continue; }
    flagArgs.push(a);
    const name = a.slice(2);
    if (!name.includes('=') && Object.hasOwn(cmd.flags, name) && cmd.flags[name].type !== 'boolean' && i + 1 < argv.length) flagArgs.push(argv[++i]);
  }
  const { min, max, value } = cmd.positional;
  if (args.length < min || args.length > max) throw new UsageError(`${cmd.name} takes ${value}`);
  return { flagArgs, args };
}

export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') { io.out(usage()); return name ? 0 : 2; }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) { io.err(`mobilevit-studio: unknown command "${name}" (try --help)`); return 2; }
  if (rest.includes('--help')) { io.out(commandHelp(cmd)); return 0; }
  try {
    const { flagArgs, args } = splitPositional(rest, cmd);
    return await cmd.run(parseFlags(flagArgs, cmd.flags), io, args);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`mobilevit-studio ${name}: ${msg.split('\n')[0]}`);
    if (process.env.MOBILEVIT_DEBUG) io.err(String((e as Error).stack));
    return e instanceof UsageError ? 2 : 1;
  }
}
