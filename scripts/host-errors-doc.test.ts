// docs/host-errors.md agrees with the code, as docs/errors.md does (server/http.test.ts): every code the
// desktop raises itself is listed in core/contract/errors.ts and documented (`npm run docs:errors`).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/api.ts';
import { HOST_ERROR_CODES } from '../core/contract/errors.ts';
import { HOST_ERRORS_DOC_PATH, HOST_ERROR_DOCS, renderHostErrorsMarkdown } from './host-errors-doc.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LIST = path.join('core', 'contract', 'errors.ts');

/**
 * Codes in the desktop's code that are neither slsd's nor the contract's, with why: they never reach
 * the window, so support never hears of them from a user.
 */
const NOT_SHOWN: Record<string, string> = {
  SLS_ERR_BUILD_CONFIG_INVALID: "electron/release: a release's build-config.json refused when it is stamped, or in the host's log at start (the app then uses its fallback)",
};

/** Every `'SLS_ERR_…'` (or "…", `…`) literal in the sources of the desktop, outside tests and the list itself. */
function codesInDesktopSources(): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of ['core', 'electron', 'native', 'renderer']) {
    for (const rel of fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      const file = path.join(dir, rel);
      if (!/\.tsx?$/.test(file) || /\.(test|harness)\.tsx?$/.test(file) || file.split(path.sep).includes('dist') || file === LIST) continue;
      for (const [, code] of fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/['"`](SLS_ERR_[A-Z_]+)['"`]/g)) {
        if (!found.has(code!)) found.set(code!, file);
      }
    }
  }
  return found;
}

describe("the desktop's own error codes (docs/host-errors.md)", () => {
  it('documents every code of HOST_ERROR_CODES, and nothing else', () => {
    expect(Object.keys(HOST_ERROR_DOCS).sort()).toEqual([...HOST_ERROR_CODES].sort());
  });

  it("lists no code of slsd's", () => {
    expect(HOST_ERROR_CODES.filter((c) => (ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it("lists every code the desktop's sources raise that is not slsd's", () => {
    const known = new Set<string>([...ERROR_CODES, ...HOST_ERROR_CODES, ...Object.keys(NOT_SHOWN)]);
    const unlisted = [...codesInDesktopSources()].filter(([code]) => !known.has(code)).map(([code, file]) => `${code} (${file})`);
    expect(unlisted, 'add each to HOST_ERROR_CODES (core/contract/errors.ts) and document it in scripts/host-errors-doc.ts').toEqual([]);
  });

  it('agrees with docs/host-errors.md (npm run docs:errors)', () => {
    expect(fs.readFileSync(HOST_ERRORS_DOC_PATH, 'utf8')).toBe(renderHostErrorsMarkdown());
  });

  it('is linked from docs/errors.md', () => {
    expect(fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8')).toContain('(host-errors.md)');
  });
});
