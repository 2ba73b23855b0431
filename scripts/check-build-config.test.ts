import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { mainBuild, preloadBuild } from './build-electron.ts';
import { checkBuildConfig, checkProject, desktopRuntimeRoots, isIncluded, nativeLibraryPackages } from './check-build-config.ts';

const root = path.resolve(import.meta.dirname, '..');
const RULE = 'resources/linux/70-dscplus.rules';
const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
const lockPackages = (JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, object> }).packages;
const loadConfig = () => yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
const problemsWith = (mutate: (c: Record<string, unknown>) => void) => {
  const config = loadConfig();
  mutate(config);
  return checkBuildConfig({ projectDir: root, config, schema, packageJson, lockPackages }).filter((p) => !p.startsWith(RULE));
};

describe('electron-builder.yml (SPEC N3)', () => {
  it('the committed config passes the schema and every release rule', () => {
    // The udev rule is the DSC+ engineer's file; until it lands, that is the one problem reported.
    const expected = existsSync(path.join(root, RULE)) ? [] : [`${RULE}: missing (the DSC+ engineer's udev rule)`];
    expect(checkProject(root)).toEqual(expected);
  });

  it('reports keys electron-builder does not know (its own schema)', () => {
    expect(problemsWith((c) => { c['asarUnpak'] = ['**/*.node']; }).some((p) => p.startsWith('schema'))).toBe(true);
  });

  it('requires every fuse with its value', () => {
    expect(problemsWith((c) => { (c['electronFuses'] as Record<string, unknown>)['runAsNode'] = true; })).toContain('electronFuses.runAsNode: must be false');
    expect(problemsWith((c) => { delete c['electronFuses']; })).toHaveLength(7);
  });

  it('requires grantFileProtocolExtraPrivileges: false (the renderer loads from app://sls, not file://)', () => {
    const fuses = (c: Record<string, unknown>) => c['electronFuses'] as Record<string, unknown>;
    expect(fuses(loadConfig())['grantFileProtocolExtraPrivileges']).toBe(false);
    expect(problemsWith((c) => { fuses(c)['grantFileProtocolExtraPrivileges'] = true; })).toEqual(['electronFuses.grantFileProtocolExtraPrivileges: must be false']);
    expect(problemsWith((c) => { delete fuses(c)['grantFileProtocolExtraPrivileges']; })).toEqual(['electronFuses.grantFileProtocolExtraPrivileges: must be false']);
  });

  it('requires AppImage, deb, NSIS and dmg', () => {
    expect(problemsWith((c) => { (c['linux'] as Record<string, unknown>)['target'] = ['AppImage']; })).toEqual(['linux.target: must include deb']);
    expect(problemsWith((c) => { (c['mac'] as Record<string, unknown>)['target'] = 'zip'; })).toEqual(['mac.target: must include dmg']);
  });

  it('names every installer SLS-Desktop-<version>…, the deb too (electron-builder would call it sls_<version>_amd64.deb)', () => {
    const target = (c: Record<string, unknown>, key: string) => c[key] as Record<string, unknown>;
    const config = loadConfig();
    for (const key of ['appImage', 'deb', 'dmg', 'nsis']) expect(target(config, key)['artifactName'], key).toMatch(/^SLS-Desktop-(Setup-)?\$\{version\}/);
    expect(target(config, 'deb')['artifactName']).toBe(target(config, 'appImage')['artifactName']);
    expect(problemsWith((c) => { delete target(c, 'deb')['artifactName']; })).toEqual([
      'deb.artifactName: must be set, as SLS-Desktop-${version}-${arch}.${ext} (electron-builder\'s default is sls_${version}_${arch}.deb)',
    ]);
    expect(problemsWith((c) => { target(c, 'dmg')['artifactName'] = 'SLS-Desktop-${version}.${ext}'; })).toEqual([
      'dmg.artifactName: must be SLS-Desktop-${version}-${arch}.${ext} (one name for every installer; the architecture tells the files of a target apart)',
    ]);
    expect(problemsWith((c) => { target(c, 'nsis')['artifactName'] = '${productName} Setup ${version}.${ext}'; })).toEqual([
      'nsis.artifactName: must be SLS-Desktop-Setup-${version}.${ext} (one name for every installer)',
    ]);
  });

  it('requires the udev rule to ship and the deb to install it', () => {
    expect(problemsWith((c) => { (c['linux'] as Record<string, unknown>)['extraResources'] = []; })).toEqual(
      expect.arrayContaining([`linux.extraResources: must ship ${RULE}`]),
    );
    expect(problemsWith((c) => { (c['deb'] as Record<string, unknown>)['afterInstall'] = 'resources/linux/after-remove.tpl'; })).toEqual([
      'deb.afterInstall: must install the DSC+ udev rule (udev-rule.sh install)',
    ]);
  });

  it('fails when server/ or a server-only package would be packed, or a desktop dependency dropped', () => {
    const withServer = problemsWith((c) => { c['files'] = ['**/*', ...(c['files'] as string[]).filter((p) => p !== '!server{,/**/*}')]; });
    expect(withServer).toEqual(['linux files: must exclude server/db/migrations/001.sql', 'linux files: must exclude server/README.md', 'win files: must exclude server/db/migrations/001.sql', 'win files: must exclude server/README.md', 'mac files: must exclude server/db/migrations/001.sql', 'mac files: must exclude server/README.md']);
    const withFastify = problemsWith((c) => { c['files'] = (c['files'] as string[]).filter((p) => !p.includes('fastify')); });
    expect(withFastify).toEqual(
      expect.arrayContaining(["files: package fastify is not excluded (the app's main process never imports it)", "files: package better-sqlite3 is not excluded (the app's main process never imports it)"]),
    );
    const withoutHid = problemsWith((c) => { (c['files'] as string[]).push('!node_modules/node-hid{,/**/*}'); });
    expect(withoutHid).toContain('files: desktop dependency node-hid is excluded');
  });

  it("fails when a package only the renderer's bundle or slsd uses would be packed: @date-fns/tz, libphonenumber-js", () => {
    const without = (name: string) => problemsWith((c) => { c['files'] = (c['files'] as string[]).filter((p) => !p.includes(name)); });
    expect(without('libphonenumber-js')).toEqual(
      expect.arrayContaining(['@date-fns/tz', 'libphonenumber-js'].map((n) => `files: package ${n} is not excluded (the app's main process never imports it)`)),
    );
    // electron-builder hoists again what it packs: rc's own strip-json-comments lands at the top,
    // where `!node_modules/rc` does not reach (package-lock.json keeps it under rc).
    const withStrip = problemsWith((c) => { c['files'] = (c['files'] as string[]).map((p) => p.replace('strip-json-comments,', '')); });
    expect(withStrip).toEqual(["files: package rc/node_modules/strip-json-comments is not excluded (the app's main process never imports it)"]);
    // A dependency nobody classified is left out unless the main process imports it.
    const withNew = checkBuildConfig({
      projectDir: root,
      config: loadConfig(),
      schema,
      packageJson: { ...packageJson, dependencies: { ...(packageJson['dependencies'] as object), 'left-pad': '^1.3.0' } },
      lockPackages: { ...lockPackages, 'node_modules/left-pad': { version: '1.3.0' } },
    }).filter((p) => !p.startsWith(RULE));
    expect(withNew).toEqual(["files: package left-pad is not excluded (the app's main process never imports it)"]);
    // What the main process imports must stay a production dependency (electron-builder packs only those).
    const { zod: _zod, ...noZod } = packageJson['dependencies'] as Record<string, string>;
    expect(checkBuildConfig({ projectDir: root, config: loadConfig(), schema, packageJson: { ...packageJson, dependencies: noZod }, lockPackages })).toContain(
      "package.json dependencies: must list zod (electron/dist/main.js imports it at run time)",
    );
  });

  it('desktopRuntimeRoots are exactly the npm packages the main process bundle imports; the preload imports none', async () => {
    const bundle = async (options: BuildOptions) => {
      const r = await build({ ...options, absWorkingDir: root, write: false, metafile: true, logLevel: 'silent' });
      const imported = Object.values(r.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path));
      // A package's name, whatever subpath is imported (libphonenumber-js/max), without node: built-ins and Electron itself.
      const names = imported.filter((x) => !x.startsWith('node:') && x !== 'electron').map((x) => x.split('/').slice(0, x.startsWith('@') ? 2 : 1).join('/'));
      return [...new Set(names)].sort();
    };
    expect(await bundle(mainBuild)).toEqual([...desktopRuntimeRoots].sort());
    expect(await bundle(preloadBuild)).toEqual([]);
  });

  it('requires unpacked native modules and no rebuild', () => {
    expect(problemsWith((c) => { c['asarUnpack'] = []; c['npmRebuild'] = true; })).toEqual([
      'asarUnpack: must include **/*.node (node-hid, usb, @napi-rs/keyring)',
      'npmRebuild: must be false (N-API prebuilds; a rebuild downloads Electron headers)',
    ]);
  });

  it('matches files like electron-builder: last pattern wins, node_modules included unless excluded', () => {
    expect(isIncluded('electron/dist/main.js', ['electron/dist/**/*'])).toBe(true);
    expect(isIncluded('server/app.ts', ['**/*', '!server{,/**/*}'])).toBe(false);
    expect(isIncluded('node_modules/pg/package.json', [])).toBe(true);
    expect(isIncluded('node_modules/pg/package.json', ['!node_modules/{pg,kysely}{,/**/*}'])).toBe(false);
  });

  it('makes the deb depend on the libraries the node-hid and usb prebuilds link against, keeping electron-builder\'s defaults', () => {
    const deb = (c: Record<string, unknown>) => c['deb'] as Record<string, unknown>;
    const depends = deb(loadConfig())['depends'] as string[];
    for (const pkg of Object.values(nativeLibraryPackages)) expect(depends).toContain(pkg);
    expect(problemsWith((c) => { delete deb(c)['depends']; })).toEqual([
      'deb.depends: must list libusb-1.0-0 (a library the node-hid/usb prebuilds link against)',
      'deb.depends: must list libudev1 (a library the node-hid/usb prebuilds link against)',
    ]);
    // `depends` replaces electron-builder's list: listing only ours would drop Electron's own libraries.
    expect(problemsWith((c) => { deb(c)['depends'] = ['libusb-1.0-0', 'libudev1']; })).toEqual(
      expect.arrayContaining(["deb.depends: must keep electron-builder's default libgtk-3-0 (Electron needs it)", "deb.depends: must keep electron-builder's default libnss3 (Electron needs it)"]),
    );
  });

  it('requires package.json to name an author (the Windows executable\'s CompanyName)', () => {
    const { author: _author, ...noAuthor } = packageJson;
    const problems = checkBuildConfig({ projectDir: root, config: loadConfig(), schema, packageJson: noAuthor, lockPackages }).filter((p) => !p.startsWith(RULE));
    expect(problems).toEqual(["package.json author: missing (electron-builder: the Windows executable's CompanyName, the deb's default maintainer)"]);
  });

  it('requires the preload build-electron writes (electron/dist/preload.cjs), not a preload.js nothing builds', () => {
    const explicit = (c: Record<string, unknown>) => {
      c['files'] = ['package.json', 'electron/dist/main.js', 'electron/dist/preload.js', ...(c['files'] as string[]).filter((p) => p !== 'electron/dist/**/*')];
    };
    expect(problemsWith(explicit)).toEqual(['linux files: must include electron/dist/preload.cjs', 'win files: must include electron/dist/preload.cjs', 'mac files: must include electron/dist/preload.cjs']);
    expect(readFileSync(path.join(root, 'scripts/build-electron.ts'), 'utf8')).toContain("outfile: 'electron/dist/preload.cjs'");
  });

  it('refuses a build-config.json the app would refuse: http to a remote host, or a release channel defaulting to this computer', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sls-build-config-'));
    try {
      cpSync(path.join(root, 'resources'), path.join(dir, 'resources'), { recursive: true });
      const check = (buildConfig: object) => {
        writeFileSync(path.join(dir, 'resources/build-config.json'), JSON.stringify(buildConfig));
        return checkBuildConfig({ projectDir: dir, config: loadConfig(), schema, packageJson, lockPackages }).filter((p) => p.startsWith('resources/build-config.json'));
      };
      expect(check({ defaultServerUrl: 'http://127.0.0.1:7860', channel: 'dev', buildNumber: '0' })).toEqual([]);
      expect(check({ defaultServerUrl: 'https://login.sls-broker.com', channel: 'stable', buildNumber: '7' })).toEqual([]);
      // A release channel names a real server, never a name reserved for tests and documentation (RFC 2606, 6761).
      for (const [url, channel, name] of [
        ['https://sls.bank.example', 'stable', '.example'],
        ['https://sls.test', 'beta', '.test'],
        ['https://slsd.invalid', 'stable', '.invalid'],
        ['https://sls.example.com', 'stable', 'example.com'],
      ] as const) {
        expect(check({ defaultServerUrl: url, channel, buildNumber: '7' }), url).toEqual([
          `resources/build-config.json: a ${channel} build needs a real default server: ${url} is a name reserved for tests and documentation (${name}), which no release server has`,
        ]);
      }
      expect(check({ defaultServerUrl: 'https://sls.bank.example', channel: 'dev', buildNumber: '0' })).toEqual([]);
      expect(check({ defaultServerUrl: 'http://sls.bank.example', channel: 'dev', buildNumber: '0' })).toEqual([
        'resources/build-config.json: The server address must use https:// (plain http is allowed only on this computer).',
      ]);
      expect(check({ defaultServerUrl: 'http://localhost:7860', channel: 'stable', buildNumber: '7' })).toEqual([
        'resources/build-config.json: a stable build cannot default to this computer (http://localhost:7860)',
      ]);
      expect(check({ channel: 'dev' })).toEqual(['resources/build-config.json: build-config.json has invalid fields: defaultServerUrl.']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
