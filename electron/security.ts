// The window's security settings, kept in one place so that tests can check them: no Node in the page,
// a sandboxed preload, isolated contexts, a strict CSP on everything the app protocol serves, and no
// navigation, new windows, webviews or permission prompts. Links open in the system browser only when
// they are pages the studio itself shows.
import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { windowCsp } from '../src/service/host.ts';
import { DEFAULT_ENDPOINT } from '../src/zoo/download.ts';
import { isClassifierRow, ZOO } from '../src/zoo/zoo.ts';

/** The renderer is served from app://studio/ (a privileged standard scheme), never file://. */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://studio`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

/** The window's CSP (src/service/host.ts): the page connects to nothing, it talks through its preload. */
export const CSP = windowCsp("'none'");

export function webPreferences(preload: string): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/** Whether an IPC message comes from our own page (not a navigated-away or injected frame). */
export function isAppUrl(url: string | undefined): boolean {
  return url !== undefined && (url === APP_ORIGIN || url.startsWith(`${APP_ORIGIN}/`));
}

/** The window's zoo models' pages on the Hugging Face Hub (its classifiers): the only external pages the studio links to. */
const EXTERNAL_PAGES: readonly { origin: string; path: string }[] = ZOO.filter(isClassifierRow).map((e) => ({ origin: new URL(DEFAULT_ENDPOINT).origin, path: `/${e.repo}` }));

/**
 * The URL to hand to the system browser, normalised, when `url` is one of EXTERNAL_PAGES or a page below one
 * (its files, its model card) on exactly that origin, with no credentials; null for anything else.
 */
export function allowedExternalUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.username || u.password) return null;
  const ok = EXTERNAL_PAGES.some((p) => u.origin === p.origin && (u.pathname === p.path || u.pathname.startsWith(`${p.path}/`)));
  return ok ? u.href : null;
}

/** Blocks navigation away from the app, new windows (the studio's own links open in the system browser), webviews. */
export function guardContents(contents: WebContents, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAppUrl(url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const allowed = allowedExternalUrl(url);
    if (allowed !== null) openExternal(allowed);
    return { action: 'deny' };
  });
}

/** The hidden device window's page never navigates, opens windows or embeds anything: every attempt is refused. */
export function guardDevicePage(contents: WebContents): void {
  const refuse = (e: { preventDefault(): void }) => e.preventDefault();
  contents.on('will-navigate', refuse);
  contents.on('will-redirect', refuse);
  contents.on('will-attach-webview', refuse);
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Denies every permission (camera, notifications, …): the studio needs none. */
export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}
