/**
 * The release workflow and package.json names, as `npm run check:build-config` checks them (release
 * and security review): each rule is shown to catch the mistake it is for, starting with the
 * workflow as it was before the review.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { checkBuildConfig, checkReleaseWorkflow } from '../../scripts/check-build-config.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const WORKFLOW = '.github/workflows/release.yml';
type Json = Record<string, unknown>;
const load = (): Json => yaml.load(readFileSync(path.join(root, WORKFLOW), 'utf8')) as Json;
const jobs = (w: Json) => w['jobs'] as Record<string, Json>;
const steps = (job: Json) => job['steps'] as Json[];
const stepRunning = (job: Json, pattern: RegExp) => steps(job).find((s) => typeof s['run'] === 'string' && pattern.test(s['run']))!;
const problemsWith = (mutate: (w: Json) => void) => {
  const w = load();
  mutate(w);
  return checkReleaseWorkflow(w).map((p) => p.replace(`${WORKFLOW}: `, ''));
};

/** The workflow before the review: one matrix job, contents: write everywhere, secrets by ternary, tags. */
const before = `
name: release
on: { push: { tags: ['v*.*.*'] }, workflow_dispatch: {} }
permissions: { contents: write }
jobs:
  installers:
    strategy: { matrix: { include: [{ os: ubuntu-latest, dist: 'dist:linux' }, { os: windows-latest, dist: 'dist:win' }, { os: macos-latest, dist: 'dist:mac' }] } }
    runs-on: \${{ matrix.os }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
      - run: npm ci
      - run: npm run \${{ matrix.dist }}
        env:
          CSC_LINK: \${{ matrix.os == 'windows-latest' && secrets.WIN_CSC_LINK || matrix.os == 'macos-latest' && secrets.MAC_CSC_LINK || '' }}
          APPLE_ID: \${{ secrets.APPLE_ID }}
      - uses: actions/upload-artifact@v4
  publish:
    needs: installers
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
`;

describe(`${WORKFLOW} (release/security review)`, () => {
  it('the committed workflow keeps every rule', () => {
    expect(checkReleaseWorkflow(load())).toEqual([]);
  });

  it('catches what the workflow before the review got wrong', () => {
    const problems = checkReleaseWorkflow(yaml.load(before)).map((p) => p.replace(`${WORKFLOW}: `, ''));
    expect(problems).toEqual(
      expect.arrayContaining([
        'permissions: the workflow default must be `contents: read` and nothing else writable',
        'jobs.installers: uses signing secrets, so it must run in the protected `environment: release`',
        'jobs.installers: Apple/macOS secrets belong only in the macOS job',
        'jobs.installers: Windows secrets belong only in the Windows job',
        'jobs.installers.steps[0]: actions/checkout@v4 must be pinned by a full commit SHA (keep the tag in a comment)',
        'jobs.installers.steps[0]: actions/checkout needs `persist-credentials: false` (npm ci runs install scripts)',
        'jobs.publish.steps[0]: actions/download-artifact@v4 must be pinned by a full commit SHA (keep the tag in a comment)',
        'jobs: a step must check that the tag is v + package.json version',
      ]),
    );
  });

  it('only the publish job may write, and it runs no checkout or npm', () => {
    const w = load();
    expect(w['permissions']).toEqual({ contents: 'read' });
    const writers = Object.entries(jobs(w)).filter(([, j]) => j['permissions'] !== undefined);
    expect(writers.map(([n, j]) => [n, j['permissions']])).toEqual([['publish', { contents: 'write' }]]);
    expect(problemsWith((x) => { jobs(x)['linux']!['permissions'] = { contents: 'write' }; })).toEqual([
      'jobs.linux.permissions: only a job that runs no checkout and no npm may write, and only contents (publishing)',
    ]);
  });

  it('checkout never leaves the token on disk, and every action is pinned by SHA', () => {
    expect(problemsWith((x) => { delete steps(jobs(x)['mac']!)[1]!['with']; })).toEqual([
      'jobs.mac.steps[1]: actions/checkout needs `persist-credentials: false` (npm ci runs install scripts)',
    ]);
    expect(problemsWith((x) => { steps(jobs(x)['linux']!)[1]!['uses'] = 'actions/setup-node@v4'; })).toEqual([
      'jobs.linux.steps[1]: actions/setup-node@v4 must be pinned by a full commit SHA (keep the tag in a comment)',
    ]);
  });

  it('signing secrets only in the step env of the job that signs, behind the release environment', () => {
    expect(problemsWith((x) => { delete jobs(x)['mac']!['environment']; })).toEqual(
      expect.arrayContaining(['jobs.mac: uses signing secrets, so it must run in the protected `environment: release`']),
    );
    expect(problemsWith((x) => { jobs(x)['windows']!['env'] = { APPLE_ID: '${{ secrets.APPLE_ID }}' }; })).toEqual([
      'jobs.windows.env: no secrets at job level (only in the steps that need them)',
      'jobs.windows: Apple/macOS secrets belong only in the macOS job',
    ]);
  });

  it('tag builds force signing, and the installers are verified after the build', () => {
    expect(problemsWith((x) => { stepRunning(jobs(x)['windows']!, /npm run dist:win/)['run'] = 'npm run dist:win'; })).toEqual([
      'jobs.windows: `npm run dist:win` must pass -c.forceCodeSigning=true on tag builds',
    ]);
    expect(problemsWith((x) => { (x['env'] as Json)['SIGN_ARGS'] = ''; })).toEqual([
      'jobs.windows: `npm run dist:win` must pass -c.forceCodeSigning=true on tag builds',
      'jobs.mac: `npm run dist:mac` must pass -c.forceCodeSigning=true on tag builds',
    ]);
    expect(problemsWith((x) => { const s = stepRunning(jobs(x)['mac']!, /stapler validate/); s['run'] = String(s['run']).replace('xcrun stapler validate', 'true'); })).toEqual([
      'jobs.mac: verify the app after the build (stapler validate)',
    ]);
    expect(problemsWith((x) => { jobs(x)['windows']!['steps'] = steps(jobs(x)['windows']!).filter((s) => !/Authenticode/.test(String(s['run']))); })).toEqual([
      'jobs.windows: verify the signatures after the build (Get-AuthenticodeSignature … Valid)',
    ]);
    // Tag builds fail early when a signing or notarization secret is empty.
    for (const [job, names] of [['windows', ['WIN_CSC_LINK', 'WIN_CSC_KEY_PASSWORD']], ['mac', ['MAC_CSC_LINK', 'MAC_CSC_KEY_PASSWORD', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID']]] as const) {
      const first = steps(jobs(load())[job]!)[0]!;
      expect(first['if']).toBe("startsWith(github.ref, 'refs/tags/v')");
      for (const n of names) expect(String(first['run']), `${job} ${n}`).toContain(n);
      expect(String(first['run'])).toContain('exit 1');
    }
  });

  it('the macOS job installs both keyring bindings, of the locked version, before dist:mac (the Intel dmg crash)', () => {
    const mac = jobs(load())['mac']!;
    expect(mac['runs-on']).toBe('macos-latest');
    const install = stepRunning(mac, /keyring-darwin-x64/);
    expect(String(install['run'])).toMatch(/packages\['node_modules\/@napi-rs\/keyring'\]\.version/);
    expect(String(install['run'])).toMatch(/npm install --no-save --force .*\\\n\s*"@napi-rs\/keyring-darwin-x64@\$\{version\}" "@napi-rs\/keyring-darwin-arm64@\$\{version\}"/);
    expect(steps(mac).indexOf(install)).toBeLessThan(steps(mac).indexOf(stepRunning(mac, /npm run dist:mac/)));
    expect(problemsWith((x) => { jobs(x)['mac']!['steps'] = steps(jobs(x)['mac']!).filter((s) => s !== stepRunning(jobs(x)['mac']!, /keyring-darwin-x64/)); })).toEqual([
      'jobs.mac: install both @napi-rs/keyring-darwin-x64 and -arm64 (the locked version) before dist:mac; npm ci installs only the runner\'s',
    ]);
  });

  it('tags are checked against package.json, and the stamp refuses the dev channel on tags', () => {
    const w = load();
    expect(problemsWith((x) => { jobs(x)['preflight']!['steps'] = steps(jobs(x)['preflight']!).filter((s) => !/GITHUB_REF_NAME/.test(String(s['run']))); })).toEqual([
      'jobs: a step must check that the tag is v + package.json version',
    ]);
    expect((w['env'] as Json)['STAMP_ARGS']).toBe("${{ startsWith(github.ref, 'refs/tags/v') && '--release' || '' }}");
    for (const name of ['linux', 'windows', 'mac']) expect(jobs(w)[name]!['needs']).toBe('preflight');
  });
});

describe('package.json names (Electron takes the app name from package.json, not electron-builder.yml)', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Json;
  const builder = yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Json;

  it('productName is the builder productName, so the app is not called "sls"', () => {
    expect(pkg['productName']).toBe('SLS Desktop');
    expect(pkg['productName']).toBe(builder['productName']);
  });

  it('desktopName names the installed .desktop file (Wayland app_id)', () => {
    expect(pkg['desktopName']).toBe(`${(builder['linux'] as Json)['executableName'] as string}.desktop`);
  });

  it('check:build-config refuses a package.json without them', () => {
    const schema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
    const lockPackages = (JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, object> }).packages;
    const check = (packageJson: Json) => checkBuildConfig({ projectDir: root, config: builder, schema, packageJson, lockPackages }).filter((p) => p.startsWith('package.json'));
    expect(check(pkg)).toEqual([]);
    const { productName: _p, desktopName: _d, ...bare } = pkg;
    expect(check(bare)).toEqual([
      'package.json productName: must be "SLS Desktop", as in electron-builder.yml (Electron\'s app name)',
      'package.json desktopName: must be "sls-desktop.desktop" (the installed .desktop file, linux.executableName)',
    ]);
  });
});
