import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ORIGIN, RENDERER_CSP, RENDERER_ENTRY_URL, resolveAppUrl, respondToAppRequest } from './app-protocol.ts';

// A stand-in for the packaged app: <work>/app/dist/renderer is the renderer folder, <work>/outside
// holds what must never be served (another folder beside it, as app.asar sits beside user files).
let work: string;
let renderer: string;
const SECRET = 'secret: not part of the renderer';

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'sls-app-protocol-'));
  renderer = path.join(work, 'app', 'dist', 'renderer');
  mkdirSync(path.join(renderer, 'assets', 'fonts'), { recursive: true });
  mkdirSync(path.join(work, 'outside'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>SLS</title>\n');
  writeFileSync(path.join(renderer, 'assets', 'index-DiU_K9n5.js'), 'console.log(1);\n');
  writeFileSync(path.join(renderer, 'assets', 'index-CU5wPCPE.css'), 'body{}\n');
  writeFileSync(path.join(renderer, 'assets', 'icon-ClqPwD7E.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(path.join(renderer, 'assets', 'logo.PNG'), 'png');
  writeFileSync(path.join(renderer, 'assets', 'fonts', 'inter-latin-400.woff2'), 'woff2');
  writeFileSync(path.join(renderer, 'locales.json'), '{}\n');
  writeFileSync(path.join(renderer, 'favicon.ico'), 'ico');
  writeFileSync(path.join(renderer, 'assets', 'blob-1.bin'), 'bytes');
  writeFileSync(path.join(renderer, '.env'), 'HIDDEN=1\n');
  writeFileSync(path.join(work, 'outside', 'secret.txt'), SECRET);
  writeFileSync(path.join(work, 'app', 'package.json'), '{"name":"sls"}\n');
  // A symlink leading out of the folder, and one that stays inside it.
  symlinkSync(path.join(work, 'outside', 'secret.txt'), path.join(renderer, 'assets', 'leak.js'));
  symlinkSync(path.join(work, 'outside'), path.join(renderer, 'linked-dir'));
  symlinkSync(path.join(renderer, 'index.html'), path.join(renderer, 'assets', 'alias.html'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const served = async (url: string) => {
  const r = await resolveAppUrl(url, renderer);
  return r.ok ? { file: path.relative(renderer, r.file).split(path.sep).join('/'), type: r.contentType } : { status: r.status };
};

describe('app://sls resolves to files of the renderer folder only (Electron checklist: no file://)', () => {
  it('serves the entry page and its assets with the content type of their extension', async () => {
    expect(RENDERER_ENTRY_URL).toBe('app://sls/index.html');
    expect(await served(RENDERER_ENTRY_URL)).toEqual({ file: 'index.html', type: 'text/html; charset=utf-8' });
    expect(await served('app://sls/assets/index-DiU_K9n5.js')).toEqual({ file: 'assets/index-DiU_K9n5.js', type: 'text/javascript; charset=utf-8' });
    expect(await served('app://sls/assets/index-CU5wPCPE.css')).toEqual({ file: 'assets/index-CU5wPCPE.css', type: 'text/css; charset=utf-8' });
    expect(await served('app://sls/assets/icon-ClqPwD7E.svg')).toEqual({ file: 'assets/icon-ClqPwD7E.svg', type: 'image/svg+xml' });
    expect(await served('app://sls/assets/logo.PNG')).toEqual({ file: 'assets/logo.PNG', type: 'image/png' });
    expect(await served('app://sls/assets/fonts/inter-latin-400.woff2')).toEqual({ file: 'assets/fonts/inter-latin-400.woff2', type: 'font/woff2' });
    expect(await served('app://sls/locales.json')).toEqual({ file: 'locales.json', type: 'application/json; charset=utf-8' });
    expect(await served('app://sls/favicon.ico')).toEqual({ file: 'favicon.ico', type: 'image/x-icon' });
    expect(await served('app://sls/assets/blob-1.bin')).toEqual({ file: 'assets/blob-1.bin', type: 'application/octet-stream' });
    // A fragment names no file; a plain character may be percent-encoded; a symlink that stays inside is followed.
    expect(await served('app://sls/index.html#/login')).toEqual({ file: 'index.html', type: 'text/html; charset=utf-8' });
    expect(await served('app://sls/%69ndex.html')).toEqual({ file: 'index.html', type: 'text/html; charset=utf-8' });
    expect(await served('app://sls/assets/alias.html')).toEqual({ file: 'index.html', type: 'text/html; charset=utf-8' });
  });

  it('refuses every other scheme, host, port and user info', async () => {
    for (const url of [
      'app://evil/index.html',
      'app://sls.evil/index.html',
      'app://evil.sls/index.html',
      'app://SLS/index.html',
      'app://sls:443/index.html',
      'app://user@sls/index.html',
      'app://user:pw@sls/index.html',
      'app:sls/index.html',
      'app:///index.html',
      'app://sls',
      'https://sls/index.html',
      `file://${path.join(renderer, 'index.html')}`,
      '',
    ]) {
      expect(await served(url), url).toEqual({ status: 403 });
    }
  });

  it('refuses path traversal however it is written: dots, encoded dots, backslashes, NUL, absolute paths', async () => {
    for (const url of [
      'app://sls/../outside/secret.txt',
      'app://sls/../../outside/secret.txt',
      'app://sls/assets/../../../outside/secret.txt',
      'app://sls/./index.html',
      'app://sls/%2e%2e/%2e%2e/outside/secret.txt',
      'app://sls/%2E%2E/%2E%2E/outside/secret.txt',
      'app://sls/.%2e/.%2e/outside/secret.txt',
      'app://sls/%2e./%2e./outside/secret.txt',
      'app://sls/..%2f..%2foutside%2fsecret.txt',
      'app://sls/assets%2f..%2f..%2f..%2foutside%2fsecret.txt',
      'app://sls/..\\..\\outside\\secret.txt',
      'app://sls/assets\\..\\index.html',
      'app://sls/%5c..%5c..%5coutside%5csecret.txt',
      'app://sls/..%5c..%5coutside%5csecret.txt',
      'app://sls/index.html%00.png',
      'app://sls/index.html\u0000.png',
      'app://sls//etc/passwd',
      `app://sls/${encodeURIComponent(path.join(work, 'outside', 'secret.txt'))}`,
      'app://sls/%2fetc%2fpasswd',
      'app://sls/C:/Windows/win.ini',
      'app://sls/C%3A%5CWindows%5Cwin.ini',
      'app://sls/index.html:stream',
      'app://sls/.env',
      'app://sls/index.html.',
      'app://sls/%E2%80%A4%E2%80%A4/outside/secret.txt', // U+2024 ONE DOT LEADER, a look-alike dot
      'app://sls/%',
      'app://sls/%zz',
      'app://sls/%c0%ae%c0%ae/outside/secret.txt', // overlong UTF-8 dots: malformed, never decoded to '..'
    ]) {
      expect(await served(url), JSON.stringify(url)).toEqual({ status: 400 });
    }
  });

  it('refuses query strings, even ones that look harmless', async () => {
    for (const url of ['app://sls/index.html?x=1', 'app://sls/index.html?../../outside/secret.txt', 'app://sls/index.html?', 'app://sls/?file=../outside/secret.txt', 'app://sls/assets/index-DiU_K9n5.js?v=2#x']) {
      expect(await served(url), url).toEqual({ status: 400 });
    }
  });

  it('answers 404 for directories and missing files', async () => {
    for (const url of ['app://sls/', 'app://sls/assets', 'app://sls/assets/fonts', 'app://sls/missing.html', 'app://sls/assets/missing.js', 'app://sls/index.html/x']) {
      expect(await served(url), url).toEqual({ status: 404 });
    }
    // A trailing slash is an empty name, refused before the file system is asked.
    expect(await served('app://sls/assets/')).toEqual({ status: 400 });
  });

  it('refuses a symlink that leads out of the folder', async () => {
    expect(await served('app://sls/assets/leak.js')).toEqual({ status: 403 });
    expect(await served('app://sls/linked-dir/secret.txt')).toEqual({ status: 403 });
  });
});

describe('the app:// handler (what Electron gets back)', () => {
  const get = (url: string, init: { method?: string; initiatorOrigin?: string } = {}) => respondToAppRequest({ url, method: init.method ?? 'GET', initiatorOrigin: init.initiatorOrigin }, renderer);

  it('sends the file with its content type, the renderer CSP and nosniff', async () => {
    const page = await get(RENDERER_ENTRY_URL);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toBe(readFileSync(path.join(renderer, 'index.html'), 'utf8'));
    const script = await get('app://sls/assets/index-DiU_K9n5.js', { initiatorOrigin: APP_ORIGIN });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const head = await get(RENDERER_ENTRY_URL, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses other methods, other initiators, and never sends a file from outside the folder', async () => {
    const post = await get(RENDERER_ENTRY_URL, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    for (const origin of ['https://evil.example', 'null', 'file://', 'app://evil']) {
      expect((await get(RENDERER_ENTRY_URL, { initiatorOrigin: origin })).status, origin).toBe(403);
    }
    // The window's own loadURL carries no initiator (absent, or empty in some versions): served.
    expect((await get(RENDERER_ENTRY_URL, { initiatorOrigin: '' })).status).toBe(200);
    for (const url of ['app://sls/../outside/secret.txt', 'app://sls/assets/leak.js', 'app://evil/index.html', 'app://sls/missing.js']) {
      const r = await get(url);
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.headers.get('content-security-policy')).toBe(RENDERER_CSP);
      expect(await r.text()).not.toContain(SECRET);
    }
  });
});

describe('electron/main.ts wiring (read as text: Electron cannot run here)', () => {
  const main = readFileSync(path.join(import.meta.dirname, 'main.ts'), 'utf8');

  it('loads app://sls, never file://, and registers the scheme before ready without extra privileges', () => {
    expect(main).toContain('loadURL(RENDERER_ENTRY_URL)');
    expect(main).not.toMatch(/\bloadFile\(/);
    expect(main).toContain('protocol.handle(APP_SCHEME,');
    const register = main.indexOf('protocol.registerSchemesAsPrivileged(');
    expect(register).toBeGreaterThan(0);
    expect(register).toBeLessThan(main.indexOf('app.whenReady()'));
    const call = main.slice(register, main.indexOf(';', register));
    expect(call).toMatch(/standard: true/);
    expect(call).toMatch(/secure: true/);
    expect(call).toMatch(/supportFetchAPI: true/);
    expect(call).not.toMatch(/bypassCSP|corsEnabled|allowServiceWorkers|stream/);
  });

  it("sends the same CSP from its webRequest hook as the app:// handler", () => {
    const literal = /'Content-Security-Policy': \["([^"]+)"\]/.exec(main);
    expect(literal?.[1]).toBe(RENDERER_CSP);
  });
});
