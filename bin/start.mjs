#!/usr/bin/env node
// `npm start`: the whole SLS demo on this machine (ARCHITECTURE.md, "Processes").
//
// 1. slsd as its own process, embedded defaults (SQLite in .sls-data), seeded with demo users;
// 2. the DSC+ emulator for the demo card, where native/emulator exists;
// 3. the desktop client: Electron where a runtime exists, else the browser host in a Chromium
//    --app window, or (no display) the address to open. The browser host gets no --config-dir (its
//    settings stay in the user's own config folder); it gives Chromium a fresh private profile per
//    launch and removes it when it stops (electron/browser-host.ts, chromiumProfile).
// It says which, prints the demo users, and Ctrl-C stops every child it started.
import { spawn, spawnSync } from 'node:child_process';
import { nodeFlagsOf } from './node-flags.mjs';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const dataDir = resolve(root, flag('--data-dir', process.env.SLS_DATA_DIR ?? '.sls-data'));
const port = Number(flag('--port', process.env.SLS_PORT ?? '7860'));
const serverUrl = `http://127.0.0.1:${port}`;
const chromium = process.env.SLS_CHROMIUM ?? '/usr/bin/chromium';
const children = [];
let stopping = false;

function say(line = '') {
  process.stdout.write(`${line}\n`);
}

function start(name, command, argv, options = {}) {
  const child = spawn(command, argv, { cwd: root, ...options });
  children.push({ name, child });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`[start] ${name} stopped (${signal ?? `exit ${code}`}).`);
    if (name === 'slsd' || name === 'client') void stop(code ?? 1);
  });
  return child;
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(children.map(({ child }) => (child.exitCode !== null || child.signalCode !== null ? null : new Promise((r) => child.once('exit', r)))));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function waitHealthy(child) {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`slsd exited (code ${child.exitCode}); see ${join(dataDir, 'slsd.log')}`);
    try {
      if ((await fetch(`${serverUrl}/v1/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`slsd did not answer on ${serverUrl} within 60 s`);
}

/** Electron's binary, without letting the electron package try to download one. */
function electronRuntime() {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const bin = override ? join(override, rel) : join(pkg, 'dist', rel);
  if (!existsSync(bin)) return null;
  // The binary exists; does it run here (libraries, display)?
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  return probe.status === 0 ? bin : null;
}

function demoUsers() {
  const file = join(dataDir, 'demo', 'README.txt');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => /^(demo\.|\s+- |Every demo user)/.test(l));
}

async function main() {
  mkdirSync(dataDir, { recursive: true });
  say(`[start] slsd on ${serverUrl}, data in ${dataDir} (log: ${join(dataDir, 'slsd.log')})`);
  const log = openSync(join(dataDir, 'slsd.log'), 'a');
  const slsd = start('slsd', process.execPath, [...nodeFlagsOf(join(root, 'bin/slsd.cjs')), join(root, 'bin/slsd.cjs'), '--data-dir', dataDir, '--port', String(port), '--demo'], { stdio: ['ignore', log, log] });
  await waitHealthy(slsd);

  say('');
  say('Demo users:');
  for (const line of demoUsers()) say(`  ${line}`);
  say('');

  // The DSC+ emulator for the demo card (its keypad is this terminal).
  const demoJson = join(dataDir, 'demo', 'demo.json');
  if (existsSync(join(root, 'native', 'emulator')) && existsSync(demoJson)) {
    const demo = JSON.parse(readFileSync(demoJson, 'utf8'));
    const card = demo.users.find((u) => u.username === 'demo.dscplus')?.devices.find((d) => d.kind === 'dscplus');
    if (card?.file) {
      // SPEC C2: the client's DeviceManager finds it in the same SLS_DSCPLUS_DIR and sends it the challenge itself.
      say(`[start] DSC+ emulator for ${card.label}, plugged in: log in as demo.dscplus and type the PIN (${card.pin ?? 'see README'}) here: keys 0-9, Enter, Esc; u unplugs.`);
      start('dscplus-emulator', process.execPath, [join(root, 'bin/dscplus-emulator.mjs'), '--state', join(dataDir, card.file)], { stdio: ['inherit', 'inherit', 'inherit'] });
    }
  }

  if (!existsSync(join(root, 'dist', 'renderer', 'index.html'))) {
    say('[start] building the renderer (vite build)…');
    const b = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('vite build failed');
  }

  const electron = process.env.DISPLAY || process.platform !== 'linux' ? electronRuntime() : null;
  if (electron) {
    const b = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build-electron.ts')], { cwd: root, stdio: 'ignore' });
    if (b.status !== 0) throw new Error('building electron/dist failed');
    say(`[start] client: Electron (${electron}).`);
    start('client', electron, [root, `--sls-server=${serverUrl}`], { stdio: 'inherit' });
    return;
  }
  const why = process.env.DISPLAY ? 'no Electron runtime here' : 'no display';
  const headless = !process.env.DISPLAY || !existsSync(chromium);
  say(`[start] client: browser host (${why})${headless ? '' : ` in a Chromium --app window (${chromium})`}.`);
  start('client', process.execPath, ['--import', 'tsx', join(root, 'electron/browser-host.ts'), '--server', serverUrl, '--chromium', chromium, ...(headless ? ['--headless'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

main().catch((e) => {
  say(`[start] ${e instanceof Error ? e.message : String(e)}`);
  void stop(1);
});
