import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { electronSources, electronVersionOf, lintProblems, runElectronegativity } from './lint-electron.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
const work = mkdtempSync(path.join(tmpdir(), 'sls-lint-electron-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(work, 'p-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('npm run lint:electron (Electronegativity)', () => {
  it('runs the wrapper over the sources, not the electron/ folder with its bundle', () => {
    expect(packageJson.scripts['lint:electron']).toBe('tsx electron/release/lint-electron.ts');
    const files = electronSources(root);
    expect(files).toEqual(expect.arrayContaining(['electron/main.ts', 'electron/preload.ts', 'electron/security.ts']));
    expect(files.filter((f) => f.startsWith('electron/dist/') || f.endsWith('.test.ts') || !f.endsWith('.ts'))).toEqual([]);
  });

  it('passes the Electron version from package.json', () => {
    expect(electronVersionOf(packageJson)).toBe(packageJson.devDependencies['electron']!.replace(/^[\^~]/, ''));
    expect(electronVersionOf({ devDependencies: { electron: '~45.5.0' } })).toBe('45.5.0');
    expect(() => electronVersionOf({ devDependencies: { electron: 'latest' } })).toThrow(/Electron version/);
  });

  it('fails on a file it cannot parse (the bundle error that used to end in "No issues")', async () => {
    const dir = project({ 'electron/bundle.js': 'class A { #secret = 1; get() { return this.#secret; } }\nexport default A;\n' });
    const result = await runElectronegativity(dir, ['electron/bundle.js'], '45.5.0');
    expect(result.errors).toEqual([expect.objectContaining({ file: 'electron/bundle.js', tolerable: false })]);
    expect(lintProblems(result)).toContain(`electron/bundle.js: could not be parsed, so it was not checked: ${result.errors[0]!.message}`);
    expect(lintProblems({ errors: [{ file: 'a.ts', message: 'recovered', tolerable: true }], issues: [] })).toEqual([]);
  }, 30_000);

  it('fails on a finding, and honours eng-disable annotations in the sources', async () => {
    const window = (flag: string) =>
      `import { BrowserWindow } from 'electron';\nexport const w = new BrowserWindow({ webPreferences: { contextIsolation: true, sandbox: true } });${flag}\n`;
    // Without disableBlinkFeatures: 'Auxclick' a middle-click opens a new window (AUXCLICK_JS_CHECK).
    const dir = project({ 'electron/bad.ts': window(''), 'electron/reviewed.ts': window(' /* eng-disable AUXCLICK_JS_CHECK */') });
    const problems = lintProblems(await runElectronegativity(dir, ['electron/bad.ts', 'electron/reviewed.ts'], '45.5.0'));
    expect(problems.some((p) => /^electron\/bad\.ts:\d+:\d+: AUXCLICK_JS_CHECK/.test(p))).toBe(true);
    expect(problems.filter((p) => p.startsWith('electron/reviewed.ts'))).toEqual([]);
  }, 30_000);
});
