// The bench's child processes (bench/child.ts): one collector of a child's output, exit and time, that the
// measurement workers, the zoo's CLI runs, the recipe's trainings and the PyTorch scripts all read through.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, jsonLines, runChild } from '../../bench/child.ts';

const node = (source: string, env: Record<string, string> = {}) => collect(process.execPath, ['-e', source], env);

describe('bench child processes', () => {
  it("collects stdout and stderr to the end, the exit code, the time, with the given environment beside this process's", async () => {
    const r = await node('process.stdout.write("a\\n"); setTimeout(() => { process.stdout.write(process.env.CHILD_TEST + " " + (process.env.PATH ? "path" : "")); console.error("oops"); process.exit(3); }, 50);', { CHILD_TEST: 'given' });
    expect(r).toMatchObject({ out: 'a\ngiven path', err: 'oops\n', code: 3, signal: null });
    expect(r.seconds).toBeGreaterThanOrEqual(0.05);
  });

  it('says which signal ended a child', async () => {
    expect(await node('process.kill(process.pid, "SIGTERM")')).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('rejects a command that cannot start', async () => {
    await expect(collect(join(tmpdir(), 'no-such-command-here'), [])).rejects.toThrow(/ENOENT/);
  });

  it('reads the JSON lines of an output, skipping the rest', () => {
    expect(jsonLines('started\n{"a":1}\n  {"no":0}\n{"b":[2]}\n')).toEqual([{ a: 1 }, { b: [2] }]);
  });

  it("runChild answers a script's last stdout line, or why it ended without one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-child-'));
    const script = join(dir, 'job.mts'); // a module wherever the folder is
    writeFileSync(script, 'const job: { n: number } = JSON.parse(process.argv[2]);\nconsole.log("warming up");\nif (job.n < 0) throw new Error("negative job");\nconsole.log(JSON.stringify({ twice: job.n * 2 }));\n');
    expect(await runChild(script, { n: 21 })).toEqual({ twice: 42 });
    expect(await runChild(script, { n: -1 })).toEqual({ error: expect.stringMatching(/^worker ended \(exit 1\): /) });
  });
});
