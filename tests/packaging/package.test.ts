/**
 * Build the unpacked Linux app with electron-builder and look inside it (SPEC N3).
 *
 * Electron's binary cannot be downloaded here, so `electronDist` points at a stand-in Electron
 * folder: an `electron` file carrying a real fuse wire (the sentinel @electron/fuses looks for,
 * with every configured fuse set to the opposite of what we want), LICENSE and version. The
 * build runs in a temporary copy of the project, so nothing in the work tree changes. Inputs are
 * the real `electron/dist` and `dist/renderer` builds when they exist, otherwise small marked
 * stand-ins: this test checks packaging, not the app's code.
 *
 * node_modules in the copy is a hard-linked copy (`cp -al`), never a symlink (issue 8).
 * electron-builder collects production modules from `npm list --all --long`. npm trusts its
 * hidden lockfile (node_modules/.package-lock.json) only while no folder in node_modules is newer
 * than it; vitest's first run in a fresh `npm ci` tree creates node_modules/.vite-temp, so there
 * npm reads the real folders instead, and through a node_modules symlink every package resolves
 * outside the project: optional and nested dependencies come back empty and the platform package
 * @napi-rs/keyring-linux-x64-gnu (and node-hid's pkg-prebuilds) silently drop out of app.asar. A
 * real build (`npm run dist:linux` in the project) never has the symlink and is not affected.
 * The copy's node_modules is stamped newer than its hidden lockfile, so every run takes that
 * read-the-folders path deterministically, as a freshly cloned CI tree does.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseSystemLibrary, dependencyClosure, desktopRuntimeRoots, nativeLibraryPackages, requiredFuses } from '../../scripts/check-build-config.ts';
import type { LockPackage } from '../../scripts/check-build-config.ts';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as { listPackage(archive: string, options?: object): string[]; extractFile(archive: string, file: string): Buffer; getRawHeader(archive: string): { header: object } };
const fuses = require('@electron/fuses') as {
  getCurrentFuseWire(electron: string): Promise<Record<string, number | string>>;
  FuseV1Options: Record<string, number>;
};
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const root = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** FuseV1Options names as in electron-builder's electronFuses keys. */
const fuseIndex: Record<keyof typeof requiredFuses, string> = {
  runAsNode: 'RunAsNode',
  enableCookieEncryption: 'EnableCookieEncryption',
  enableNodeOptionsEnvironmentVariable: 'EnableNodeOptionsEnvironmentVariable',
  enableNodeCliInspectArguments: 'EnableNodeCliInspectArguments',
  enableEmbeddedAsarIntegrityValidation: 'EnableEmbeddedAsarIntegrityValidation',
  onlyLoadAppFromAsar: 'OnlyLoadAppFromAsar',
  grantFileProtocolExtraPrivileges: 'GrantFileProtocolExtraPrivileges',
};

let work: string;
let unpacked: string;
let archive: string;
let entries: string[];
let usedRealBuild = false;
const standInMain = '// stand-in main bundle (tests/packaging)\n';

function writeStandInElectron(dir: string): void {
  mkdirSync(dir, { recursive: true });
  // Wire version 1, 8 fuses, each the opposite of the release value ('1' = enable, '0' = disable).
  const wire = Buffer.from('10110001', 'ascii');
  const body = Buffer.concat([Buffer.from('#!/bin/sh\necho "stand-in Electron"\nexit 0\n# '), Buffer.from(SENTINEL), Buffer.from([1, wire.length]), wire, Buffer.from('\n')]);
  writeFileSync(path.join(dir, 'electron'), body, { mode: 0o755 });
  writeFileSync(path.join(dir, 'LICENSE'), 'stand-in Electron LICENSE\n');
  writeFileSync(path.join(dir, 'version'), `${(require('electron/package.json') as { version: string }).version}\n`);
}

/**
 * Copy node_modules into the temporary project as real folders.
 *
 * Hard links make the 40,000-file tree cost well under a second; where they cannot be made (another
 * file system, no GNU cp) a full copy is the slow but faithful fallback. Never a symlink (issue 8).
 */
async function copyNodeModules(dest: string): Promise<void> {
  const src = path.join(root, 'node_modules');
  try {
    await run('cp', ['-al', src, dest]);
  } catch {
    rmSync(dest, { recursive: true, force: true });
    cpSync(src, dest, { recursive: true, verbatimSymlinks: true });
  }
  const now = new Date();
  utimesSync(dest, now, now);
}

function copyInput(rel: string, dest: string, standIn: string): boolean {
  const src = path.join(root, rel);
  mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
  if (existsSync(src)) {
    cpSync(src, path.join(dest, rel));
    return true;
  }
  writeFileSync(path.join(dest, rel), standIn);
  return false;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'sls-package-'));
  const app = path.join(work, 'app');
  const electronDist = path.join(work, 'electron-dist');
  writeStandInElectron(electronDist);
  mkdirSync(app);
  for (const f of ['package.json', 'package-lock.json', 'electron-builder.yml']) cpSync(path.join(root, f), path.join(app, f));
  cpSync(path.join(root, 'resources'), path.join(app, 'resources'), { recursive: true });
  // The udev rule is the DSC+ engineer's file; check:build-config fails while it is missing.
  const rule = path.join(app, 'resources', 'linux', '70-dscplus.rules');
  if (!existsSync(rule)) writeFileSync(rule, '# stand-in DSC+ rule (tests/packaging)\n');
  await copyNodeModules(path.join(app, 'node_modules'));
  const realMain = copyInput('electron/dist/main.js', app, standInMain);
  const realPreload = copyInput('electron/dist/preload.cjs', app, '// stand-in preload\n');
  const realRenderer = existsSync(path.join(root, 'dist/renderer/index.html'));
  if (realRenderer) cpSync(path.join(root, 'dist/renderer'), path.join(app, 'dist/renderer'), { recursive: true });
  else copyInput('dist/renderer/index.html', app, '<!doctype html><title>stand-in renderer</title>\n');
  usedRealBuild = realMain && realPreload && realRenderer;
  // A source file and a map that must not be packed.
  copyInput('electron/dist/main.js.map', app, '{}');

  const cli = path.join(root, 'node_modules', 'electron-builder', 'cli.js');
  const env = { ...process.env, CSC_LINK: '', CSC_KEY_PASSWORD: '', ELECTRON_CACHE: path.join(work, 'no-cache'), ELECTRON_BUILDER_CACHE: path.join(work, 'no-cache') };
  await run(process.execPath, [cli, '--linux', 'dir', '--projectDir', app, `-c.electronDist=${electronDist}`, `-c.directories.output=${path.join(work, 'out')}`], {
    cwd: app,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  unpacked = path.join(work, 'out', 'linux-unpacked');
  archive = path.join(unpacked, 'resources', 'app.asar');
  entries = asar.listPackage(archive, { isPack: false }).map((e) => e.replaceAll('\\', '/'));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('unpacked Linux app (electron-builder --linux dir, SPEC N3)', () => {
  it('renames the Electron binary to the executable name', () => {
    const exe = path.join(unpacked, 'sls-desktop');
    expect(statSync(exe).mode & 0o111).not.toBe(0);
  });

  it('packs main, preload and the renderer into app.asar, byte for byte', () => {
    for (const f of ['/package.json', '/electron/dist/main.js', '/electron/dist/preload.cjs', '/dist/renderer/index.html']) expect(entries).toContain(f);
    const main = asar.extractFile(archive, 'electron/dist/main.js').toString();
    const expected = usedRealBuild ? readFileSync(path.join(root, 'electron/dist/main.js'), 'utf8') : main;
    expect(main).toBe(expected);
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString()) as { main: string; version: string; productName?: string; desktopName?: string };
    expect(pkg.main).toBe('electron/dist/main.js');
    // Electron's app.getName() reads the packed package.json: the settings/logs folder and the macOS menu say "SLS Desktop", not "sls".
    expect(pkg.productName).toBe('SLS Desktop');
    expect(pkg.desktopName).toBe('sls-desktop.desktop');
    if (!usedRealBuild) console.info('packaging test: electron/dist or dist/renderer not built; used stand-in inputs');
  });

  it('leaves out server/, sources, tests, source maps and server-only packages', () => {
    const bad = entries.filter(
      (e) =>
        /^\/(server|core|native|renderer|tests|scripts|ibkey)\//.test(e) ||
        /\.map$/.test(e) ||
        /^\/node_modules\/(better-sqlite3|@node-rs|fastify|pg|kysely|pdfkit|react|react-dom|tsx|esbuild|@esbuild)(\/|$)/.test(e),
    );
    expect(bad).toEqual([]);
  });

  it("leaves out the renderer's packages (bundled by Vite) and the server's: only what the packed main process imports, with its dependencies", () => {
    // @date-fns/tz and libphonenumber-js (core/calendar.ts, core/phone.ts) reach the app
    // only inside the renderer bundle; slsd loads them from node_modules, not from the app.
    const notForTheApp = /^\/node_modules\/(date-fns|@date-fns\/tz|libphonenumber-js|@noble\/hashes|ws|i18next|react-i18next)(\/|$)/;
    expect(entries.filter((e) => notForTheApp.test(e))).toEqual([]);
    // Every package in app.asar is one of what electron/dist/main.js imports (desktopRuntimeRoots) or
    // their dependencies, by name and version: electron-builder hoists the tree again, so a package
    // may sit elsewhere than in package-lock.json (a package nested under an excluded one at the top).
    const lockPackages = (JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> }).packages;
    const nameOf = (p: string) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const desktop = new Set([...dependencyClosure(lockPackages, desktopRuntimeRoots)].map((p) => `${nameOf(p)}@${lockPackages[p]!.version}`));
    const packages = entries
      .filter((e) => /^\/(?:node_modules\/(?:@[^/]+\/)?[^/@]+\/)*node_modules\/(?:@[^/]+\/)?[^/@]+\/package\.json$/.test(e))
      .map((e) => {
        const { name, version } = JSON.parse(asar.extractFile(archive, e.slice(1)).toString()) as { name: string; version: string };
        return `${name}@${version}`;
      });
    expect(packages.length).toBeGreaterThan(desktopRuntimeRoots.length);
    expect(packages.filter((p) => !desktop.has(p)).sort()).toEqual([]);
    for (const r of desktopRuntimeRoots) expect(entries, r).toContain(`/node_modules/${r}/package.json`);
    const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;
    console.info(`packaging test: app.asar ${mb(statSync(archive).size)}, ${packages.length} packages`);
  });

  it('ships node-hid, usb and @napi-rs/keyring with their Linux .node files unpacked next to the asar', () => {
    for (const pkg of ['node-hid', 'usb', '@napi-rs/keyring', 'electron-store']) expect(entries).toContain(`/node_modules/${pkg}/package.json`);
    const unpackedDir = path.join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules');
    expect(existsSync(path.join(unpackedDir, 'node-hid/prebuilds/HID_hidraw-linux-x64/node-napi-v4.node'))).toBe(true);
    expect(existsSync(path.join(unpackedDir, 'usb/prebuilds/linux-x64/node.napi.glibc.node'))).toBe(true);
    const keyring = entries.filter((e) => /^\/node_modules\/@napi-rs\/keyring-linux-x64-gnu\/.*\.node$/.test(e));
    expect(keyring.length).toBeGreaterThan(0);
    for (const k of keyring) expect(existsSync(path.join(unpacked, 'resources', 'app.asar.unpacked', k))).toBe(true);
    // Every .node file in the asar is marked unpacked (Electron cannot dlopen from inside an asar).
    const nodeFiles = entries.filter((e) => e.endsWith('.node'));
    expect(nodeFiles.length).toBeGreaterThan(0);
    for (const f of nodeFiles) expect(existsSync(path.join(unpacked, 'resources', 'app.asar.unpacked', f)), f).toBe(true);
    // Only this platform's prebuilds ride along (electron-builder.yml: ${platform}-${arch} patterns):
    // node-hid's and usb's folders for other systems, architectures and musl stay out of the installer.
    const prebuilds = nodeFiles.filter((f) => /\/node_modules\/(node-hid|usb)\/prebuilds\//.test(f)).sort();
    expect(prebuilds).toEqual(
      [
        '/node_modules/node-hid/prebuilds/HID-linux-x64/node-napi-v4.node',
        '/node_modules/node-hid/prebuilds/HID_hidraw-linux-x64/node-napi-v4.node',
        '/node_modules/usb/prebuilds/linux-x64/node.napi.glibc.node',
      ].sort(),
    );
    const unpackedModules = path.join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules');
    expect(existsSync(path.join(unpackedModules, 'usb', 'prebuilds', 'linux-x64', 'node.napi.musl.node'))).toBe(false);
  });

  it.runIf(process.platform === 'linux')('declares in the deb every library the packed .node files link against (readelf -d NEEDED)', async () => {
    const deb = (yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as { deb?: { depends?: string[] } }).deb;
    const depends = deb?.depends ?? [];
    const nodeFiles = entries.filter((e) => e.endsWith('.node')).map((e) => path.join(unpacked, 'resources', 'app.asar.unpacked', e));
    expect(nodeFiles.length).toBeGreaterThan(0);
    const undeclared: string[] = [];
    for (const file of nodeFiles) {
      const { stdout } = await run('readelf', ['-d', file]);
      for (const [, lib] of stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
        if (baseSystemLibrary.test(lib!)) continue;
        const pkg = nativeLibraryPackages[lib!];
        if (pkg === undefined || !depends.includes(pkg)) undeclared.push(`${path.relative(unpacked, file)}: ${lib} (${pkg ?? 'no package known: add it to nativeLibraryPackages'})`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('packs every runtime dependency of the native modules, and their platform packages installed here (issue 8)', () => {
    const packed = (name: string, parent: string): boolean =>
      entries.includes(`/node_modules/${name}/package.json`) || entries.includes(`/node_modules/${parent}/node_modules/${name}/package.json`);
    const missing: string[] = [];
    let platformPackages = 0;
    for (const pkg of ['node-hid', 'usb', '@napi-rs/keyring']) {
      const manifest = JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        optionalDependencies?: Record<string, string>;
      };
      for (const dep of Object.keys(manifest.dependencies ?? {})) if (!packed(dep, pkg)) missing.push(`${pkg} -> ${dep}`);
      // npm installs only the optional packages whose os/cpu/libc match this machine.
      for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
        if (!existsSync(path.join(root, 'node_modules', dep, 'package.json')) && !existsSync(path.join(root, 'node_modules', pkg, 'node_modules', dep, 'package.json'))) continue;
        platformPackages++;
        if (!packed(dep, pkg)) missing.push(`${pkg} -> ${dep} (optional)`);
      }
    }
    expect(missing).toEqual([]);
    // On Linux x64 glibc npm installs @napi-rs/keyring-linux-x64-gnu: the optional branch above really ran.
    if (process.platform === 'linux' && process.arch === 'x64') expect(platformPackages).toBeGreaterThan(0);
  });

  it('ships build-config.json and the DSC+ udev rule with its installer beside app.asar', () => {
    const resources = path.join(unpacked, 'resources');
    expect(readFileSync(path.join(resources, 'build-config.json'), 'utf8')).toBe(readFileSync(path.join(root, 'resources/build-config.json'), 'utf8'));
    expect(existsSync(path.join(resources, 'udev', '70-dscplus.rules'))).toBe(true);
    expect(readFileSync(path.join(resources, 'udev', 'udev-rule.sh'), 'utf8')).toBe(readFileSync(path.join(root, 'resources/linux/udev-rule.sh'), 'utf8'));
  });

  it('flips the configured fuses in the binary', async () => {
    const wire = await fuses.getCurrentFuseWire(path.join(unpacked, 'sls-desktop'));
    const ENABLE = 49;
    const DISABLE = 48;
    for (const [name, wanted] of Object.entries(requiredFuses)) {
      const index = fuses.FuseV1Options[fuseIndex[name as keyof typeof requiredFuses]]!;
      expect(wire[index], name).toBe(wanted ? ENABLE : DISABLE);
    }
  });
});

