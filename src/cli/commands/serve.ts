// `mobilevit-studio serve`: the studio in a browser, for remote and headless machines.
import type { CliCommand } from '../command.ts';
import { UsageError } from '../args.ts';
import { ensureBuilt, RENDERER } from '../../build/outputs.ts';

export const command: CliCommand = {
  name: 'serve',
  summary: 'serve the studio to a browser on 127.0.0.1 (prints the URL with its session token)',
  flags: {
    port: { type: 'number', description: 'port to listen on; 0 picks a free one', default: 0 },
    open: { type: 'boolean', description: 'open the URL in the default browser (--no-open: do not)', default: true },
    build: { type: 'boolean', description: "build the window's files first when they are missing or stale (--no-build: serve what is built)", default: true },
    workspace: { type: 'string', description: 'workspace folder for runs and settings (default: settings, $MOBILEVIT_WORKSPACE, or the OS data folder)' },
  },
  async run(flags, io) {
    const port = flags.port as number;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${port}"`);
    // A fresh `npm ci` has no dist-renderer/: build it here rather than serve a page that cannot load.
    if (flags.build) await ensureBuilt(RENDERER, { log: (l) => io.err(`serve: ${l}`), toolOutput: (c) => c.trim() && io.err(c.trimEnd()) });
    const [{ startServer }, { openBrowser }] = await Promise.all([import('../../server/server.ts'), import('../../server/open-browser.ts')]);
    let server;
    try {
      server = await startServer({ port, workspace: flags.workspace as string | undefined, log: io.err });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${port} is in use: pick another with --port, or --port 0 for any free one`);
      throw e;
    }
    io.out(`MobileViT Studio is at ${server.url}`);
    io.out('(only this machine can reach it; for a remote machine: ssh -L <port>:127.0.0.1:<port> …, then open the URL locally)');
    if (flags.open && !(await openBrowser(server.url))) io.out('no browser could be opened from here: open the URL above yourself');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
