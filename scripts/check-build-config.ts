/**
 * Check electron-builder.yml offline: electron-builder's own schema, then the project's rules.
 *
 * SPEC N3 asks for installers for three platforms from one config; a mistake in it shows up
 * only when a release is cut on three CI runners. This check catches it in seconds with no
 * network: the YAML must validate against app-builder-lib's scheme.json (the same schema
 * electron-builder applies), and it must keep our release rules — fuses set, every target
 * present, the DSC+ udev rule shipped and installed, the deb depending on what the native
 * prebuilds link against, server/ and every package the app's main process does not import left out
 * (the server's, and the renderer's, which Vite bundles: `desktopRuntimeRoots`), native modules unpacked, no
 * rebuild (which would download Electron headers), resources/build-config.json valid by the app's
 * own rules (no http:// to a remote host) and, on a beta or stable channel, naming a real server (not
 * this computer, not a name reserved for tests such as sls.example). It also checks
 * package.json's names (Electron takes the app's name from package.json, not from this config) and
 * the release workflow's safety rules (`checkReleaseWorkflow`).
 *
 * Run: `npm run check:build-config` (exit 1 with one line per problem).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { BuildConfigError, parseBuildConfig, releaseServerProblem } from '../electron/release/build-config.ts';

const require = createRequire(import.meta.url);
const minimatch = require('minimatch') as (file: string, pattern: string, options?: { dot?: boolean }) => boolean;

/**
 * The npm packages the packed app imports at run time: the main process bundle's imports
 * (scripts/build-electron.ts bundles electron/, native/ and core/ and leaves every package external;
 * the preload is self-contained; the renderer is bundled by Vite, its packages included).
 * scripts/check-build-config.test.ts bundles electron/main.ts to keep this list true. Only these and
 * what they pull in go into app.asar: every other production dependency is used only by the server,
 * the CLIs, the browser host (`ws`) or the renderer (@date-fns/tz and libphonenumber-js in
 * core/calendar.ts and core/phone.ts, react…, already in its bundle), and must be excluded.
 */
export const desktopRuntimeRoots = ['@napi-rs/keyring', 'conf', 'electron-store', 'node-hid', 'usb', 'zod'] as const;

/** The fuses SPEC N3's release rules require, with their values. */
export const requiredFuses = {
  runAsNode: false,
  enableNodeOptionsEnvironmentVariable: false,
  enableCookieEncryption: true,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  enableNodeCliInspectArguments: false,
  // Electron's security checklist, "avoid file://": the app loads its renderer from its own origin
  // `app://sls` (electron/app-protocol.ts), so file:// pages keep no privileges beyond a browser's
  // (no fetch of other file:// URLs, no service workers, no universal access between file:// frames).
  grantFileProtocolExtraPrivileges: false,
} as const;

/**
 * Debian packages of the shared libraries the native modules' Linux prebuilds link against
 * (`readelf -d … NEEDED`), beyond the base system. electron-builder's default deb `depends` lists
 * only Electron's own libraries, so without these a minimal system installs the deb and node-hid
 * fails to load: the DSC+ is never seen over USB (SPEC C2).
 */
export const nativeLibraryPackages: Readonly<Record<string, string>> = {
  'libusb-1.0.so.0': 'libusb-1.0-0', // node-hid (both backends)
  'libudev.so.1': 'libudev1', // node-hid's hidraw backend, usb's hot-plug
};

/** glibc and the GCC runtime: on every system Electron runs on, never declared. */
export const baseSystemLibrary = /^(?:libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+)\.so\.\d+$|^ld-linux[\w.-]*\.so\.\d+$/;

/**
 * Installer file names (electron-builder `artifactName`), one `SLS-Desktop-` prefix for every target:
 * SLS-Desktop-1.2.3-x86_64.AppImage, SLS-Desktop-1.2.3-amd64.deb, SLS-Desktop-1.2.3-arm64.dmg,
 * SLS-Desktop-Setup-1.2.3.exe (electron-builder writes each architecture in its target's own words).
 * Without its own, the deb would be named after the npm package: sls_1.2.3_amd64.deb.
 */
export const artifactNames: Readonly<Record<'appImage' | 'deb' | 'dmg' | 'nsis', string>> = {
  appImage: 'SLS-Desktop-${version}-${arch}.${ext}',
  deb: 'SLS-Desktop-${version}-${arch}.${ext}',
  dmg: 'SLS-Desktop-${version}-${arch}.${ext}',
  nsis: 'SLS-Desktop-Setup-${version}.${ext}',
};

/** The files `npm run build` writes and the app cannot start without (scripts/build-electron.ts, vite). */
export const builtAppFiles = ['electron/dist/main.js', 'electron/dist/preload.cjs', 'dist/renderer/index.html'] as const;

type Json = Record<string, unknown>;
export interface LockPackage {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
}

const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** Names of a platform's targets, whether written as strings or `{ target, arch }`. */
function targetNames(platformConfig: Json): string[] {
  return asArray(platformConfig['target']).map((t) => (typeof t === 'string' ? t : String(obj(t)['target']))).map((t) => t.toLowerCase());
}

/** String patterns of a `files` list (objects `{from, to, filter}` contribute their filters). */
function patterns(value: unknown): string[] {
  return asArray(value).flatMap((p) => (typeof p === 'string' ? [p] : asArray(obj(p)['filter']).filter((f): f is string => typeof f === 'string')));
}

/**
 * Would electron-builder's `files` patterns keep this path? Last matching pattern wins.
 *
 * Production node_modules are added by electron-builder whatever the positive patterns say, so
 * a path under node_modules/ starts included and only exclusions can drop it.
 */
export function isIncluded(file: string, filePatterns: readonly string[]): boolean {
  let included = file.startsWith('node_modules/');
  for (const pattern of filePatterns) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (minimatch(file, glob, { dot: true })) included = !negated;
  }
  return included;
}

/** The lock-file paths of every package reachable from the given roots (Node's resolution). */
export function dependencyClosure(lockPackages: Record<string, LockPackage>, roots: readonly string[]): Set<string> {
  const resolve = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lockPackages[candidate]) return candidate;
      if (!base) return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut < 0 ? '' : base.slice(0, cut);
    }
  };
  const seen = new Set<string>();
  const stack = roots.map((r) => resolve('', r)).filter((p): p is string => p !== undefined);
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const entry = lockPackages[current] ?? {};
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const found = resolve(current, dep);
      if (found) stack.push(found);
    }
  }
  return seen;
}

export interface CheckInput {
  readonly projectDir: string;
  /** Parsed electron-builder.yml. */
  readonly config: unknown;
  /** electron-builder's JSON schema (app-builder-lib/scheme.json). */
  readonly schema: object;
  /** package.json */
  readonly packageJson: Json;
  /** package-lock.json `packages`. */
  readonly lockPackages: Record<string, LockPackage>;
}

/** Every problem found, as `where: what` lines; empty when the config is good. */
export function checkBuildConfig(input: CheckInput): string[] {
  const problems: string[] = [];
  const ajv = new Ajv({ allErrors: true, verbose: false });
  const validate = ajv.compile(input.schema);
  if (!validate(input.config)) {
    for (const e of validate.errors ?? []) problems.push(`schema${e.dataPath || ''}: ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }
  const c = obj(input.config);
  const exists = (rel: string) => existsSync(path.resolve(input.projectDir, rel));

  if (typeof c['appId'] !== 'string' || !/^[a-z][a-z0-9-]*(\.[a-z0-9-]+){2,}$/.test(c['appId'])) problems.push('appId: must be a reverse-DNS id like com.example.sls.desktop');
  if (c['productName'] !== 'SLS Desktop') problems.push('productName: must be "SLS Desktop"');
  // Electron names the app from package.json (productName, else name): the settings and logs folder,
  // the macOS menu ("Quit SLS Desktop"), X11's WM_CLASS. Without it the app is "sls".
  // electron-builder takes the Windows executable's CompanyName (and the deb's default maintainer) from it, and warns without it.
  const author = input.packageJson['author'];
  if (!(typeof author === 'string' ? author.trim() : typeof obj(author)['name'] === 'string' ? String(obj(author)['name']).trim() : ''))
    problems.push('package.json author: missing (electron-builder: the Windows executable\'s CompanyName, the deb\'s default maintainer)');
  if (input.packageJson['productName'] !== c['productName']) problems.push(`package.json productName: must be ${JSON.stringify(c['productName'])}, as in electron-builder.yml (Electron's app name)`);
  const dirs = obj(c['directories']);
  if (dirs['output'] !== 'out') problems.push('directories.output: must be out/ (ignored by git)');
  if (dirs['buildResources'] !== 'resources') problems.push('directories.buildResources: must be resources/');

  // Fuses (SPEC N3 release rules).
  const fuses = obj(c['electronFuses']);
  for (const [name, value] of Object.entries(requiredFuses)) {
    if (fuses[name] !== value) problems.push(`electronFuses.${name}: must be ${value}`);
  }

  // Targets.
  const linux = obj(c['linux']);
  const win = obj(c['win']);
  const mac = obj(c['mac']);
  for (const [where, cfg, wanted] of [['linux', linux, ['appimage', 'deb']], ['win', win, ['nsis']], ['mac', mac, ['dmg']]] as const) {
    const names = targetNames(cfg);
    for (const t of wanted) if (!names.includes(t)) problems.push(`${where}.target: must include ${t}`);
  }
  if (linux['category'] !== 'Finance') problems.push('linux.category: must be Finance');
  // Electron's Wayland app_id is desktopName without .desktop; it must name the installed .desktop file.
  if (typeof linux['executableName'] === 'string' && input.packageJson['desktopName'] !== `${linux['executableName']}.desktop`)
    problems.push(`package.json desktopName: must be "${linux['executableName']}.desktop" (the installed .desktop file, linux.executableName)`);
  if (obj(c['nsis'])['perMachine'] !== false) problems.push('nsis.perMachine: must be false (per-user install)');
  if (mac['hardenedRuntime'] !== true) problems.push('mac.hardenedRuntime: must be true (notarization needs it)');
  for (const key of ['entitlements', 'entitlementsInherit']) {
    const file = mac[key];
    if (typeof file !== 'string' || !file.startsWith('resources/mac/') || !exists(file)) problems.push(`mac.${key}: must name an existing plist in resources/mac/`);
  }

  // Installer names (docs/RELEASING.md, the release page): one prefix for all, the deb included.
  for (const [key, want] of Object.entries(artifactNames)) {
    const name = obj(c[key])['artifactName'];
    if (name === undefined || name === null)
      problems.push(`${key}.artifactName: must be set, as ${want}${key === 'deb' ? " (electron-builder's default is sls_${version}_${arch}.deb)" : ''}`);
    else if (name !== want)
      problems.push(`${key}.artifactName: must be ${want} (one name for every installer${want.includes('${arch}') ? '; the architecture tells the files of a target apart' : ''})`);
  }

  // Icons.
  for (const [where, file] of [['linux.icon', linux['icon']], ['win.icon', win['icon']], ['mac.icon', mac['icon']]] as const) {
    if (typeof file !== 'string' || !exists(file)) problems.push(`${where}: must name an existing icon (npm run icons)`);
  }
  if (typeof linux['icon'] === 'string' && !exists(path.join(linux['icon'], '512x512.png'))) problems.push('linux.icon: the folder needs 512x512.png');

  // The DSC+ udev rule: shipped in the Linux app, installed by the deb's after-install.
  const rule = 'resources/linux/70-dscplus.rules';
  const linuxResources = asArray(linux['extraResources']).map(obj);
  if (!linuxResources.some((r) => r['from'] === rule)) problems.push(`linux.extraResources: must ship ${rule}`);
  if (!exists(rule)) problems.push(`${rule}: missing (the DSC+ engineer's udev rule)`);
  if (!linuxResources.some((r) => r['from'] === 'resources/linux/udev-rule.sh')) problems.push('linux.extraResources: must ship resources/linux/udev-rule.sh');
  const deb = obj(c['deb']);
  const afterInstall = deb['afterInstall'];
  if (typeof afterInstall !== 'string' || !exists(afterInstall)) {
    problems.push('deb.afterInstall: must name the after-install script');
  } else if (!/udev-rule\.sh'? install/.test(readFileSync(path.resolve(input.projectDir, afterInstall), 'utf8'))) {
    problems.push('deb.afterInstall: must install the DSC+ udev rule (udev-rule.sh install)');
  }
  if (typeof deb['afterRemove'] !== 'string' || !exists(deb['afterRemove'])) problems.push('deb.afterRemove: must name the after-remove script');
  // Setting `depends` replaces electron-builder's default list (its schema's default), so both must be there.
  const debDefaults = asArray(obj(obj(obj(obj(obj(input.schema)['definitions'])['DebOptions'])['properties'])['depends'])['default']);
  const depends = asArray(deb['depends']);
  for (const pkg of Object.values(nativeLibraryPackages))
    if (!depends.includes(pkg)) problems.push(`deb.depends: must list ${pkg} (a library the node-hid/usb prebuilds link against)`);
  if (deb['depends'] !== undefined)
    for (const pkg of debDefaults) if (!depends.includes(pkg)) problems.push(`deb.depends: must keep electron-builder's default ${String(pkg)} (Electron needs it)`);

  // Packing: asar, native modules unpacked, no rebuild.
  if (c['asar'] !== true) problems.push('asar: must be true');
  if (!asArray(c['asarUnpack']).includes('**/*.node')) problems.push('asarUnpack: must include **/*.node (node-hid, usb, @napi-rs/keyring)');
  if (c['npmRebuild'] !== false) problems.push('npmRebuild: must be false (N-API prebuilds; a rebuild downloads Electron headers)');
  const extraResources = asArray(c['extraResources']).map(obj);
  if (!extraResources.some((r) => r['from'] === 'resources/build-config.json' && r['to'] === 'build-config.json')) problems.push('extraResources: must ship resources/build-config.json as build-config.json');
  if (!exists('resources/build-config.json')) {
    problems.push('resources/build-config.json: missing');
  } else {
    // The app's own rules (electron/release/build-config.ts): https, or http on loopback only; a
    // non-dev channel names a real server, never this computer nor a reserved test name such as
    // sls.example (the stamp's rule). The file ships as is.
    try {
      const shipped = parseBuildConfig(readFileSync(path.resolve(input.projectDir, 'resources/build-config.json'), 'utf8'));
      const problem = releaseServerProblem(shipped);
      if (problem) problems.push(`resources/build-config.json: ${problem}`);
    } catch (error) {
      if (!(error instanceof BuildConfigError)) throw error;
      problems.push(`resources/build-config.json: ${error.message}`);
    }
  }

  // Files: the built app in, everything else out (per platform, top-level and platform patterns combined).
  const main = input.packageJson['main'];
  const top = patterns(c['files']);
  for (const [platform, cfg] of [['linux', linux], ['win', win], ['mac', mac]] as const) {
    // A platform-level `files` replaces the top-level list for the app's own files (electron-builder 26).
    if (cfg['files'] !== undefined) problems.push(`${platform}.files: must not be set (it replaces the top-level files list and packs the whole project)`);
    const files = top;
    const wanted = new Set([typeof main === 'string' ? main : 'electron/dist/main.js', ...builtAppFiles, 'package.json']);
    for (const f of wanted) if (!isIncluded(f, files)) problems.push(`${platform} files: must include ${f}`);
    for (const f of ['server/app.ts', 'server/main.ts', 'server/db/migrations/001.sql', 'server/README.md', 'electron/main.ts', 'native/hid-api.ts', 'core/devices.ts', 'renderer/main.tsx', 'tests/e2e/login.spec.ts', 'electron/dist/main.js.map'])
      if (isIncluded(f, files)) problems.push(`${platform} files: must exclude ${f}`);
  }

  // Production dependencies the main process never imports (the server's, the CLIs', the browser
  // host's, the renderer's, which Vite bundles): their whole closure out; the desktop's closure in
  // (from package-lock.json). A new dependency is left out until electron/main.ts imports it.
  const prodRoots = Object.keys(obj(input.packageJson['dependencies']));
  const desktopRoots: readonly string[] = desktopRuntimeRoots;
  for (const r of desktopRoots) if (!prodRoots.includes(r)) problems.push(`package.json dependencies: must list ${r} (electron/dist/main.js imports it at run time)`);
  const otherRoots = prodRoots.filter((r) => !desktopRoots.includes(r));
  const otherClosure = dependencyClosure(input.lockPackages, otherRoots);
  const desktopClosure = dependencyClosure(input.lockPackages, desktopRoots);
  const topFiles = top;
  const nameOf = (lockPath: string) => lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const desktopNames = new Set([...desktopClosure].map(nameOf));
  for (const lockPath of [...otherClosure].sort()) {
    if (desktopClosure.has(lockPath) || input.lockPackages[lockPath]?.dev) continue;
    // electron-builder hoists the production tree again and matches `files` against where each package
    // lands: a package nested under an excluded one may land at the top (rc's own strip-json-comments).
    const name = nameOf(lockPath);
    const landings = desktopNames.has(name) ? [lockPath] : [lockPath, `node_modules/${name}`];
    if (landings.some((p) => isIncluded(`${p}/package.json`, topFiles)))
      problems.push(`files: package ${lockPath.replace(/^node_modules\//, '')} is not excluded (the app's main process never imports it)`);
  }
  for (const lockPath of [...desktopClosure].sort()) {
    if (/\/(@esbuild|esbuild)\b/.test(lockPath)) continue;
    if (!isIncluded(`${lockPath}/package.json`, top)) problems.push(`files: desktop dependency ${lockPath.replace(/^node_modules\//, '')} is excluded`);
  }
  if (c['publish'] !== null && c['publish'] !== undefined && c['publish'] !== 'never') {
    // Publishing is done by the workflow; a publish provider here would try the network from local builds.
    problems.push('publish: must be null (the release workflow uploads the artifacts)');
  }
  return problems;
}

const WORKFLOW = '.github/workflows/release.yml';

/**
 * The release workflow's safety rules (release/security review): least privilege, no token left on
 * disk for install scripts, signing secrets only where they sign (behind the `release` environment),
 * actions pinned by commit SHA, signing forced and verified, both macOS keyring bindings installed,
 * the tag checked against package.json. Problems are `<where>: <what>` lines.
 */
export function checkReleaseWorkflow(workflow: unknown): string[] {
  const problems: string[] = [];
  const w = obj(workflow);
  const jobs = Object.entries(obj(w['jobs'])).map(([name, job]) => [name, obj(job)] as const);
  const steps = (job: Json) => asArray(job['steps']).map(obj);
  const runs = (job: Json) => steps(job).map((s) => (typeof s['run'] === 'string' ? s['run'] : '')).join('\n');
  const text = (v: unknown) => JSON.stringify(v ?? null);
  const writes = (perms: unknown) => (perms === 'write-all' ? ['write-all'] : Object.entries(obj(perms)).filter(([, v]) => v === 'write').map(([k]) => k));

  const top = w['permissions'];
  if (obj(top)['contents'] !== 'read' || writes(top).length > 0) problems.push('permissions: the workflow default must be `contents: read` and nothing else writable');
  if (/secrets\./.test(text(w['env']))) problems.push('env: no secrets at workflow level (only in the steps that need them)');

  for (const [name, job] of jobs) {
    const where = `jobs.${name}`;
    const os = String(job['runs-on'] ?? '');
    const all = text(job);
    const granted = writes(job['permissions']);
    if (granted.length > 0) {
      if (granted.join() !== 'contents' || /actions\/checkout@|\bnpm\b|\bnpx\b/.test(all))
        problems.push(`${where}.permissions: only a job that runs no checkout and no npm may write, and only contents (publishing)`);
    }
    if (/secrets\./.test(text(job['env']))) problems.push(`${where}.env: no secrets at job level (only in the steps that need them)`);
    const usesSecrets = /secrets\.(?!GITHUB_TOKEN)/.test(all);
    if (usesSecrets && job['environment'] !== 'release' && obj(job['environment'])['name'] !== 'release')
      problems.push(`${where}: uses signing secrets, so it must run in the protected \`environment: release\``);
    if (/secrets\.(APPLE_|MAC_)/.test(all) && !os.startsWith('macos')) problems.push(`${where}: Apple/macOS secrets belong only in the macOS job`);
    if (/secrets\.WIN_/.test(all) && !os.startsWith('windows')) problems.push(`${where}: Windows secrets belong only in the Windows job`);
    for (const [i, step] of steps(job).entries()) {
      const uses = step['uses'];
      if (typeof uses !== 'string') continue;
      if (!uses.startsWith('./') && !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses)) problems.push(`${where}.steps[${i}]: ${uses} must be pinned by a full commit SHA (keep the tag in a comment)`);
      if (/^actions\/checkout@/.test(uses) && obj(step['with'])['persist-credentials'] !== false)
        problems.push(`${where}.steps[${i}]: actions/checkout needs \`persist-credentials: false\` (npm ci runs install scripts)`);
    }
    const script = runs(job);
    const dist = /npm run (dist:(?:win|mac))(.*)/.exec(script);
    if (dist && (dist[1] === 'dist:win' || dist[1] === 'dist:mac')) {
      const forced = /forceCodeSigning=true/.test(dist[2] ?? '') || (/\$\{?SIGN_ARGS\b/.test(dist[2] ?? '') && /forceCodeSigning=true/.test(text(obj(w['env'])['SIGN_ARGS'] ?? obj(job['env'])['SIGN_ARGS'])));
      if (!forced) problems.push(`${where}: \`npm run ${dist[1]}\` must pass -c.forceCodeSigning=true on tag builds`);
      if (job['environment'] !== 'release' && obj(job['environment'])['name'] !== 'release') problems.push(`${where}: a signing job must run in the protected \`environment: release\``);
    }
    if (dist?.[1] === 'dist:win' && !/Get-AuthenticodeSignature/.test(script)) problems.push(`${where}: verify the signatures after the build (Get-AuthenticodeSignature … Valid)`);
    if (dist?.[1] === 'dist:mac') {
      for (const tool of ['codesign --verify --deep --strict', 'spctl -a', 'stapler validate'])
        if (!script.includes(tool)) problems.push(`${where}: verify the app after the build (${tool})`);
      const before = script.slice(0, script.indexOf('npm run dist:mac'));
      if (!/@napi-rs\/keyring-darwin-x64@/.test(before) || !/@napi-rs\/keyring-darwin-arm64@/.test(before))
        problems.push(`${where}: install both @napi-rs/keyring-darwin-x64 and -arm64 (the locked version) before dist:mac; npm ci installs only the runner's`);
    }
  }
  if (!jobs.some(([, job]) => /GITHUB_REF_NAME/.test(runs(job)) && /package\.json/.test(runs(job)) && /version/.test(runs(job))))
    problems.push('jobs: a step must check that the tag is v + package.json version');
  return problems.map((p) => `${WORKFLOW}: ${p}`);
}

/** Read the project's files and check them. */
export function checkProject(projectDir: string): string[] {
  const read = (rel: string) => readFileSync(path.join(projectDir, rel), 'utf8');
  let config: unknown;
  try {
    config = yaml.load(read('electron-builder.yml'));
  } catch (error) {
    return [`electron-builder.yml: not valid YAML: ${(error as Error).message.split('\n')[0]}`];
  }
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
  const packageJson = JSON.parse(read('package.json')) as Json;
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockPackage> };
  const problems = checkBuildConfig({ projectDir, config, schema, packageJson, lockPackages: lock.packages });
  if (existsSync(path.join(projectDir, WORKFLOW))) {
    try {
      problems.push(...checkReleaseWorkflow(yaml.load(read(WORKFLOW))));
    } catch (error) {
      problems.push(`${WORKFLOW}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkProject(projectDir);
  if (problems.length > 0) {
    for (const p of problems) console.error(p.startsWith(`${WORKFLOW}:`) ? p : `electron-builder.yml: ${p}`);
    console.error(`check:build-config: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check:build-config: electron-builder.yml is valid (schema, fuses, targets, udev rule, files, package.json names); ${WORKFLOW} keeps the release rules`);
}
