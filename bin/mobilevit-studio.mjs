#!/usr/bin/env node
// Entry point for `npx mobilevit-studio`: runs the CLI compiled into dist-cli/, compiling it first when it is
// missing or older than a source (src/build/outputs.ts, target CLI; seconds, once; said on a terminal only, so
// that piped output and scripts see only the command's own lines). Where it cannot be compiled (typescript, a
// development dependency, is not installed), it says why and runs the TypeScript through tsx, which transpiles
// every file on every call (seconds).
//   MOBILEVIT_CLI_SOURCE=1   run the sources through tsx, compile nothing
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const at = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const say = (line) => process.stderr.write(`mobilevit-studio: ${line}\n`);

async function fromSource(module) {
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(at(module)).href);
}

/** The compiled CLI's main, built first when missing or stale; null (with the reason said) where it cannot be. */
async function compiledMain() {
  try {
    // The compiled build module does the staleness check (a walk of src/'s modification times); the first build
    // takes the source one.
    const compiledOutputs = at('dist-cli/src/build/outputs.js');
    const outputs = existsSync(compiledOutputs) ? await import(pathToFileURL(compiledOutputs).href) : await fromSource('src/build/outputs.ts');
    await outputs.ensureBuilt(outputs.CLI, { log: process.stderr.isTTY ? say : () => {} });
    return (await import(pathToFileURL(at(outputs.CLI.output)).href)).main;
  } catch (e) {
    say(`${e.message.split('\n')[0]}; running the CLI from its TypeScript sources through tsx instead`);
    return null;
  }
}

const main = (!process.env.MOBILEVIT_CLI_SOURCE && (await compiledMain())) || (await fromSource('src/cli/main.ts')).main;
process.exitCode = await main(process.argv.slice(2));
