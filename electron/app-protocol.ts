/**
 * The renderer's own origin, `app://sls`: which URL maps to which packaged file, testable without Electron.
 *
 * Electron's security checklist asks apps not to load their pages from file:// (a file:// page may
 * read any other file:// URL, and every local file shares its origin) but from a custom protocol
 * that serves only the app's files. electron/main.ts registers the `app` scheme as standard and
 * secure and answers it with `respondToAppRequest`, which serves exactly the files under the
 * packaged renderer folder (dist/renderer, inside app.asar) for host `sls`, and nothing else: no
 * other host, no `..` or encoded dots, no backslash, NUL, drive letter or query, no directory, no
 * symlink leading out of the folder. Names are checked against a plain allowlist (what Vite
 * writes: `index.html`, `assets/index-DiU_K9n5.js`) rather than cleaned up, so a trick is refused
 * before any file system call, never "repaired" into some other file.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** The privileged scheme (registered before `app.whenReady`, electron/main.ts). */
export const APP_SCHEME = 'app';
/** The one host the scheme answers. */
export const APP_HOST = 'sls';
/** The renderer's origin: the only one trusted to call the host over IPC (electron/security.ts). */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window loads. */
export const RENDERER_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * The renderer's Content-Security-Policy (SPEC C3), sent with every app:// response.
 *
 * The same policy as renderer/index.html's meta tag plus `frame-ancestors 'none'` (which a meta
 * tag cannot carry); electron/main.ts repeats it as a literal in its webRequest hook for static
 * checkers, and a test keeps the two equal. 'self' is app://sls: the packaged files only.
 */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Content types by extension: what a Vite build of the renderer can hold. Anything else is served as bytes (with nosniff). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type for a file name, by its extension (case-insensitive). */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * One path segment as a file or folder name may be: letters, digits, `_ - @ + ~` and dots, not
 * starting or ending with a dot. Rules out `.` and `..`, hidden files, `/`, `\`, `:` (drive
 * letters, NTFS streams), NUL and other control characters, spaces and look-alike Unicode.
 */
const SEGMENT = /^[A-Za-z0-9_@+~-](?:[A-Za-z0-9._@+~-]*[A-Za-z0-9_@+~-])?$/;

export type AppUrlResolution =
  | { readonly ok: true; readonly file: string; readonly contentType: string }
  | { readonly ok: false; readonly status: 400 | 403 | 404; readonly reason: string };

const refuse = (status: 400 | 403 | 404, reason: string): AppUrlResolution => ({ ok: false, status, reason });

/** Is `child` the folder `parent` itself or inside it (both absolute, resolved)? */
function isWithin(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Map an app:// URL to a file under `rendererDir`, or say why not.
 *
 * The URL is read as written, before any URL parser resolves dot segments: `app://sls/a/../x`
 * is refused, not served as `app://sls/x`. Chromium canonicalizes URLs before they reach the
 * handler, so in the app these refusals are a second line; the tests hold them as the first.
 */
export async function resolveAppUrl(url: string, rendererDir: string): Promise<AppUrlResolution> {
  const prefix = `${APP_ORIGIN}/`;
  // Exactly `app://sls/`: no other scheme or host, no port, no user info, no upper-case variant.
  if (typeof url !== 'string' || !url.startsWith(prefix)) return refuse(403, `not under ${prefix}`);
  // The fragment never reaches a server; Chromium does not send it, and it names no file.
  const hash = url.indexOf('#');
  const rest = url.slice(prefix.length, hash < 0 ? undefined : hash);
  // The renderer asks for no query; one would only be a way to smuggle something past the path checks.
  if (rest.includes('?')) return refuse(400, 'a query string is not accepted');
  if (rest === '') return refuse(404, 'a directory is not served');
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return refuse(400, 'malformed percent-encoding');
    }
    if (!SEGMENT.test(segment)) return refuse(400, 'not a plain file name (dot segment, separator, control character or empty)');
    segments.push(segment);
  }
  const root = path.resolve(rendererDir);
  const candidate = path.join(root, ...segments);
  if (candidate === root || !isWithin(root, candidate)) return refuse(400, 'outside the renderer folder');

  // Symlinks: the file's real place must still be inside the folder's real place.
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await realpath(root);
    realFile = await realpath(candidate);
  } catch {
    return refuse(404, 'no such file');
  }
  if (realFile === realRoot || !isWithin(realRoot, realFile)) return refuse(403, 'leads outside the renderer folder');
  try {
    if (!(await stat(realFile)).isFile()) return refuse(404, 'a directory is not served');
  } catch {
    return refuse(404, 'no such file');
  }
  return { ok: true, file: realFile, contentType: contentTypeOf(realFile) };
}

/** What the handler reads of Electron's request (a `Request` plus Electron's `initiatorOrigin`). */
export interface AppRequest {
  readonly url: string;
  readonly method: string;
  /** The origin of the page that asked; absent when the browser itself started the load (the window's loadURL). */
  readonly initiatorOrigin?: string | undefined;
}

const baseHeaders = (): Record<string, string> => ({
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
});

function refusal(status: number, reason: string, extra: Record<string, string> = {}): Response {
  return new Response(`${status} ${reason}\n`, { status, headers: { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8', ...extra } });
}

/**
 * Answer one app:// request (electron/main.ts hands every request of the scheme here).
 *
 * GET and HEAD only; a page of any other origin (were one ever loaded) gets nothing; the file's
 * bytes with its content type, the renderer CSP and nosniff; refusals as plain text with the
 * status `resolveAppUrl` chose. Files are read whole: the renderer build is a few hundred KB, and
 * Electron's fs reads inside app.asar.
 */
export async function respondToAppRequest(request: AppRequest, rendererDir: string, read: (file: string) => Promise<Uint8Array> = readFile): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return refusal(405, 'method not allowed', { Allow: 'GET, HEAD' });
  // Absent or empty: the browser itself started the load (the window's loadURL; Electron versions
  // before initiatorOrigin existed give nothing). Present: only our own origin may ask.
  if (request.initiatorOrigin && request.initiatorOrigin !== APP_ORIGIN) return refusal(403, 'not requested by the app');
  const resolved = await resolveAppUrl(request.url, rendererDir);
  if (!resolved.ok) return refusal(resolved.status, resolved.reason);
  let bytes: Uint8Array;
  try {
    bytes = await read(resolved.file);
  } catch {
    return refusal(404, 'no such file');
  }
  return new Response(request.method === 'HEAD' ? null : bytes, {
    status: 200,
    headers: { ...baseHeaders(), 'Content-Type': resolved.contentType },
  });
}
