// Once before the test files: the compiled CLI (dist-cli/) that the tests which spawn bin/mobilevit-studio.mjs run,
// so that the files started at the same time do not each compile it. Where it cannot be built, each CLI process
// says why and runs the sources (bin/mobilevit-studio.mjs), which the tests then see.
import { CLI, ensureBuilt } from '../src/build/outputs.ts';

export default async function setup(): Promise<void> {
  await ensureBuilt(CLI, { log: () => {} }).catch(() => undefined);
}
