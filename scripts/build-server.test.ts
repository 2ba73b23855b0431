// npm run build:server and bin/run-ts.mjs: slsd runs from a fresh bundle, never from a stale one (SPEC N1, issue 7).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM launcher without type declarations
import { freshBundle } from '../bin/run-ts.mjs';
import { buildServer } from './build-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin');
// Inside the checkout (.tmp/ is ignored): a bundle finds node_modules by walking up from itself.
fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
const work = fs.mkdtempSync(path.join(ROOT, '.tmp', 'build-server-test-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const isFresh = freshBundle as (url: URL) => boolean;
const rel = (p: string) => path.relative(BIN, p).split(path.sep).join('/');

/** A launcher like bin/slsd.cjs, for `entry` and `bundle`; runs it, resolving with its stdout when `until` shows up. */
function launch(entry: string, bundle: string, args: string[], until: RegExp, env: Record<string, string> = {}) {
  const launcher = path.join(work, `launch-${randomBytes(4).toString('hex')}.mjs`);
  fs.writeFileSync(launcher, `import { run } from ${JSON.stringify(pathToFileURL(path.join(BIN, 'run-ts.mjs')).href)};\nawait run(${JSON.stringify(rel(entry))}, ${JSON.stringify(rel(bundle))});\n`);
  const child = spawn(process.execPath, [launcher, ...args], { env: { ...process.env, SLS_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => void (err += c.toString()));
  const seen = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (until.test(out)) resolve(out);
    });
    child.once('exit', (code) => (until.test(out) ? resolve(out) : reject(new Error(`exited ${code}:\n${out}\n${err}`))));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { seen, stop };
}

describe('npm run build:server (SPEC N1: slsd without tsx)', () => {
  it('builds slsd and slsctl bundles that list their own sources, and slsd from its bundle answers /v1/health', async () => {
    const out = path.join(work, 'server');
    const before = Date.now();
    const { bundles } = await buildServer(out);
    const sources = JSON.parse(fs.readFileSync(path.join(out, 'slsd.sources.json'), 'utf8')) as { files: string[] };
    expect(sources.files).toEqual(expect.arrayContaining(['server/main.ts', 'server/services/passwords.ts', 'core/api.ts', 'tsconfig.json', 'scripts/build-server.ts']));
    expect(sources.files.filter((f) => f.endsWith('.test.ts') || f.startsWith('node_modules/'))).toEqual([]);
    expect(fs.existsSync(bundles.slsctl)).toBe(true);
    // Dated when the build began; fresh unless someone saved one of its sources since (others work here too).
    const built = fs.statSync(bundles.slsd).mtimeMs;
    expect(built).toBeGreaterThanOrEqual(before - 1);
    const untouched = sources.files.every((f) => fs.statSync(path.join(ROOT, f)).mtimeMs <= built);
    expect(isFresh(pathToFileURL(bundles.slsd))).toBe(untouched);

    // Mark the bundle, so the test sees which one ran; date it ahead, so an edit elsewhere meanwhile cannot make it stale.
    fs.appendFileSync(bundles.slsd, '\nprocess.stdout.write("ran the bundle\\n");\n');
    const ahead = new Date(Date.now() + 3_600_000);
    fs.utimesSync(bundles.slsd, ahead, ahead);
    const dataDir = path.join(work, 'data');
    const slsd = launch(path.join(ROOT, 'server/main.ts'), bundles.slsd, ['--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], /slsd listening on (http:\S+)/, {
      SLS_SERVER_KEY: randomBytes(32).toString('base64'),
    });
    try {
      const stdout = await slsd.seen;
      expect(stdout).toContain('ran the bundle');
      const url = /slsd listening on (http:\/\/\S+)/.exec(stdout)![1]!;
      const health = (await (await fetch(`${url}/v1/health`)).json()) as { status: string; version: string };
      // The version comes from package.json through createRequire(import.meta.url): each module keeps its own URL.
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(health).toMatchObject({ status: 'ok', version: pkg.version });
    } finally {
      await slsd.stop();
    }
  }, 30_000);

  it('refuses an output folder outside the checkout (its node_modules would be out of reach)', async () => {
    await expect(buildServer(path.join(path.dirname(ROOT), 'elsewhere'))).rejects.toThrow(/inside/);
  });
});

describe('bin/run-ts.mjs: bundle or source (SPEC N1; never stale code)', () => {
  // A tiny entry and a hand-made "bundle" that say which one ran.
  const entry = path.join(work, 'entry.ts');
  const bundle = path.join(work, 'entry-bundle.mjs');
  const manifest = path.join(work, 'entry-bundle.sources.json');
  const say = (what: string) => `export async function main(argv: string[]): Promise<void> { process.stdout.write(${JSON.stringify(what)} + ' ' + argv.join(',') + '\\n'); }\n`;
  const setup = () => {
    fs.writeFileSync(entry, say('source'));
    fs.writeFileSync(bundle, say('bundle').replace(': string[]', '').replace(': Promise<void>', ''));
    fs.writeFileSync(manifest, JSON.stringify({ files: [path.relative(ROOT, entry), 'tsconfig.json'] }));
  };
  const at = (file: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(file, t, t);
  };
  const ran = async (env: Record<string, string> = {}) => (await launch(entry, bundle, ['a', 'b'], /\n/, env).seen).trim();

  it('runs a bundle newer than its sources, with the arguments', async () => {
    setup();
    at(entry, 60);
    expect(await ran()).toBe('bundle a,b');
  });

  it('ignores a bundle older than one of its sources, and runs the source under tsx', async () => {
    setup();
    at(bundle, 60);
    at(manifest, 60);
    expect(await ran()).toBe('source a,b');
  });

  it('ignores a bundle without its sources list, or when SLS_FROM_SOURCE=1', async () => {
    setup();
    at(entry, 60);
    expect(await ran({ SLS_FROM_SOURCE: '1' })).toBe('source a,b');
    fs.rmSync(manifest);
    expect(await ran()).toBe('source a,b');
  });
});
