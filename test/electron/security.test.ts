import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ protocol: { registerSchemesAsPrivileged: vi.fn(), handle: vi.fn() } }));

const { CSP, APP_URL, allowedExternalUrl, guardContents, isAppUrl, webPreferences, denyPermissions } = await import('../../electron/security.ts');
const { isClassifierRow, ZOO } = await import('../../src/zoo/zoo.ts');
const { siteResponse } = await import('../../electron/app-protocol.ts');
const { electronHost } = await import('../../electron/host.ts');
const { tempDir } = await import('../engine/fixtures/studio.ts');

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('electron window security', () => {
  it('isolates the page from Node', () => {
    const p = webPreferences('/app/preload.cjs');
    expect(p).toMatchObject({
      preload: '/app/preload.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false,
    });
  });

  it('has a strict CSP: own scripts only, no eval, nothing framed or fetched', () => {
    expect(CSP).toMatch(/default-src 'none'/);
    expect(CSP).toMatch(/script-src 'self'(;|$)/);
    expect(CSP).not.toMatch(/unsafe-eval/);
    expect(CSP).toMatch(/connect-src 'none'/);
    expect(CSP).toMatch(/frame-ancestors 'none'/);
  });

  it('recognises only its own pages as senders and navigation targets', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('app://studio/assets/x.js')).toBe(true);
    for (const u of ['https://evil.example/', 'app://studio.evil/', 'file:///etc/passwd', 'app://other/', undefined, '']) expect(isAppUrl(u), String(u)).toBe(false);
  });

  it('blocks navigation away, webviews and new windows (https links go to the system browser)', () => {
    const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() });
    const opened: string[] = [];
    guardContents(contents as never, (u) => opened.push(u));
    const nav = (event: string, url: string) => {
      const e = { preventDefault: vi.fn() };
      contents.emit(event, e, url);
      return e.preventDefault.mock.calls.length > 0;
    };
    expect(nav('will-navigate', 'https://evil.example/')).toBe(true);
    expect(nav('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(nav('will-redirect', 'https://evil.example/')).toBe(true);
    expect(nav('will-navigate', 'app://studio/index.html')).toBe(false);
    expect(nav('will-attach-webview', 'app://studio/')).toBe(true);
    const handler = contents.setWindowOpenHandler.mock.calls[0][0];
    const zooPage = `https://huggingface.co/${ZOO[0].repo}`;
    expect(handler({ url: zooPage })).toEqual({ action: 'deny' });
    expect(handler({ url: 'https://github.com/x' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(opened).toEqual([zooPage]);
  });

  it('opens in the system browser only the pages the studio shows: the zoo models on the Hugging Face Hub', () => {
    for (const e of ZOO.filter(isClassifierRow)) {
      expect(allowedExternalUrl(`https://huggingface.co/${e.repo}`), e.repo).toBe(`https://huggingface.co/${e.repo}`);
      expect(allowedExternalUrl(`https://huggingface.co/${e.repo}/blob/main/README.md`), e.repo).toBe(`https://huggingface.co/${e.repo}/blob/main/README.md`);
    }
    // The dense rows are the CLI's (ml-cvnets' are not on the Hub at all): the window shows no page of theirs.
    expect(allowedExternalUrl('https://huggingface.co/ml-cvnets/ssd_mobilevit_xxs_320')).toBeNull();
    const repo = 'timm/mobilevit_s.cvnets_in1k';
    expect(ZOO.map((e) => e.repo)).toContain(repo);
    expect(allowedExternalUrl(`HTTPS://HuggingFace.co/${repo}`)).toBe(`https://huggingface.co/${repo}`); // normalised
    for (const url of [
      'https://github.com/x', 'https://huggingface.co/', 'https://huggingface.co/timm', 'https://huggingface.co/evil/model',
      `https://huggingface.co/${repo}x`, `https://huggingface.co/${repo}/../../evil/model`, `https://huggingface.co/${repo}/%2e%2e/%2e%2e/evil`,
      `http://huggingface.co/${repo}`, `https://huggingface.co:8443/${repo}`, `https://user:pw@huggingface.co/${repo}`,
      `https://huggingface.co.evil.example/${repo}`, `https://evil.example/huggingface.co/${repo}`, `javascript:alert(1)//huggingface.co/${repo}`,
      'not a url', '',
    ]) expect(allowedExternalUrl(url), url).toBe(null);
  });

  it('denies every permission request', () => {
    const session = { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() };
    denyPermissions(session as never);
    const answer = vi.fn();
    session.setPermissionRequestHandler.mock.calls[0][0]({}, 'media', answer);
    expect(answer).toHaveBeenCalledWith(false);
    expect(session.setPermissionCheckHandler.mock.calls[0][0]()).toBe(false);
  });

  it('serves the renderer with the CSP header and nothing outside its folder', async () => {
    const web = join(tmp.dir, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html>');
    writeFileSync(join(web, 'assets', 'a.js'), '1');
    writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
    const host = electronHost({ renderer: web, engine: '/unused.js', devices: null as never, window: () => null });
    const rendererResponse = (url: string) => siteResponse({ studio: host.windowFile }, url); // as main serves it
    const index = await rendererResponse(APP_URL);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CSP);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect((await rendererResponse('app://studio/assets/a.js')).headers.get('content-type')).toMatch(/javascript/);
    expect((await rendererResponse('app://studio/..%2fsecret.txt')).status).toBe(404);
    expect((await rendererResponse('app://other/index.html')).status).toBe(404);
    expect((await rendererResponse('app://studio/missing.js')).status).toBe(404);
  });
});
