// sendFile when the file cannot be read after its stat said it was there (removed meanwhile, an I/O error): the
// read stream's error must end that one response, not throw out of the server's process (issue 22: every
// handler of every server must survive). The failing read is simulated: root reads any file here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs', async (original) => ({
  ...(await original<typeof import('node:fs')>()),
  createReadStream: () => new Readable({ read() { this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })); } }),
}));

const { sendFile } = await import('../../src/util/static-files.ts');

describe('sendFile', () => {
  let dir: string;
  let server: Server;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'static-files-'));
    writeFileSync(join(dir, 'page.html'), '<!doctype html>');
    server = createServer((_req, res) => void sendFile(res, join(dir, 'page.html'), false));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends the response when the file fails to read, and the server keeps serving', async () => {
    const port = (server.address() as AddressInfo).port;
    const attempt = () => new Promise<string>((resolve) => {
      get(`http://127.0.0.1:${port}/`, (res) => {
        res.on('data', () => undefined);
        res.on('error', (e) => resolve(`aborted: ${e.message}`));
        res.on('close', () => resolve(res.complete ? 'complete' : 'aborted'));
      }).on('error', (e) => resolve(`aborted: ${e.message}`));
    });
    // The headers went out before the read failed: the only honest end is a cut connection (the length is not met).
    expect(await attempt()).toMatch(/^aborted/);
    expect(await attempt()).toMatch(/^aborted/);
  });
});
