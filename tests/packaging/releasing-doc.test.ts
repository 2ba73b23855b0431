/**
 * docs/RELEASING.md against the scripts it describes: a release engineer follows the page, so the
 * files and commands it names must be the ones the build really writes and runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactNames, builtAppFiles } from '../../scripts/check-build-config.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const releasing = readFileSync(path.join(root, 'docs/RELEASING.md'), 'utf8');
const buildElectron = readFileSync(path.join(root, 'scripts/build-electron.ts'), 'utf8');
const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('docs/RELEASING.md (SPEC N3)', () => {
  it('names the files build:electron writes, and check:build-config requires exactly those', () => {
    const outfiles = [...buildElectron.matchAll(/outfile: '([^']+)'/g)].map((m) => m[1]!);
    expect(outfiles).toEqual(['electron/dist/main.js', 'electron/dist/preload.cjs']);
    for (const f of outfiles) {
      expect(releasing, f).toContain(`\`${f}\``);
      expect(builtAppFiles as readonly string[], f).toContain(f);
    }
    expect(releasing).not.toContain('electron/dist/preload.js');
  });

  it('names the installers as electron-builder.yml does, all SLS-Desktop-…, the deb included', () => {
    // electron-builder's ${arch} in each target's words (builder-util getArtifactArchName).
    const expand = (pattern: string, arch: string, ext: string) => pattern.replace('${version}', '<version>').replace('${arch}', arch).replace('${ext}', ext);
    const files = [
      expand(artifactNames.appImage, 'x86_64', 'AppImage'),
      expand(artifactNames.deb, 'amd64', 'deb'),
      expand(artifactNames.nsis, 'x64', 'exe'),
      expand(artifactNames.dmg, 'x64', 'dmg'),
      expand(artifactNames.dmg, 'arm64', 'dmg'),
    ];
    for (const f of files) {
      expect(f).toMatch(/^SLS-Desktop-/);
      expect(releasing, f).toContain(`\`${f}\``);
    }
    expect(releasing).not.toMatch(/\bsls_[<\d]/);
  });

  it('every `npm run <script>` it names exists in package.json', () => {
    const named = new Set([...releasing.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect([...named].filter((n) => !/^dist:<|^dist:$/.test(n) && scripts[n] === undefined)).toEqual([]);
  });
});
