// The operators' documentation agrees with the code (as docs/errors.md does, http.test.ts): server/README.md
// "Settings" names every variable and flag slsd and slsctl read, once; "Audit events" every event the code
// writes (SPEC N2); and every `slsctl …` command and option the docs show exists.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { operatorName } from './cli/slsctl-common.ts';
import { runSlsctl } from './cli/slsctl.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const DOCS = ['README.md', 'server/README.md', 'docs/RELEASING.md', 'docs/host-errors.md'];

/** The first cells of the table under `## heading` in server/README.md, split at commas. */
function firstColumn(heading: string): string[] {
  const section = read('server/README.md').split(`\n## ${heading}\n`)[1]!.split('\n## ')[0]!;
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

/** Names a function reads from the environment it is given. */
function envRead(use: (env: NodeJS.ProcessEnv) => unknown): string[] {
  const names = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, k) => {
      if (typeof k === 'string') names.add(k);
      return undefined;
    },
  });
  use(env);
  return [...names];
}

/** process.env names a file reads. Set by slsd for itself: its workers' config and the pool it sized. */
const INTERNAL = ['SLSD_WORKER_CONFIG', 'SLSD_THREADPOOL_AUTO'];
/** operatorName's last resort, the OS user name: documented as such, not as settings. */
const OS_USER = ['USER', 'USERNAME'];
const processEnvOf = (file: string) => [...read(file).matchAll(/process\.env\.([A-Z_]+)/g)].map((m) => m[1]!);

describe('server/README.md "Settings"', () => {
  const documented = firstColumn('Settings').map((cell) => cell.split(/[=\s]/)[0]!);

  it('names every variable slsd and slsctl read, and only those, each once', () => {
    const read = new Set([
      ...envRead((env) => loadConfig(env)),
      ...envRead((env) => operatorName(env)),
      ...['bin/slsd.cjs', 'bin/slsctl.mjs', 'bin/run-ts.mjs', 'server/main.ts'].flatMap(processEnvOf),
    ]);
    for (const name of [...INTERNAL, ...OS_USER]) read.delete(name);
    const variables = documented.filter((d) => !d.startsWith('--'));
    expect([...variables].sort()).toEqual([...read].sort());
    expect(variables.length, 'a variable documented twice').toBe(new Set(variables).size);
  });

  it('names every flag of slsd and slsctl, and only those', async () => {
    const options = (source: string) => [...source.matchAll(/\.option\('(--[a-z-]+)/g)].map((m) => m[1]!);
    const help = await slsctl(['--help']);
    const slsctlGlobal = [...help.split('Commands:')[0]!.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!);
    expect(documented.filter((d) => d.startsWith('--')).sort()).toEqual([...new Set([...options(read('server/main.ts')), ...slsctlGlobal])].sort());
  });

  it('every SLS_ variable any doc names exists in the code', () => {
    const code = ['server', 'bin', 'scripts', 'electron', 'native', 'tests', '.ci']
      .flatMap((dir) => (fs.existsSync(path.join(ROOT, dir)) ? fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)) : []))
      .filter((f) => /\.(ts|mjs|cjs|sh|yml)$|^\.ci\//.test(f) && !f.includes('node_modules') && fs.statSync(path.join(ROOT, f)).isFile())
      .map(read)
      .join('\n')
      .concat(read('package.json'));
    for (const doc of DOCS) {
      for (const [name] of read(doc).matchAll(/\bSLS(?:CTL)?_(?!ERR_)[A-Z_]*[A-Z]/g)) expect(new RegExp(`\\b${name}\\b`).test(code), `${doc}: ${name} is read nowhere`).toBe(true);
    }
  });
});

describe('server/README.md "Audit events"', () => {
  /** The events the code writes: `event: '…'` or `event = … '…'` (a ternary), outside tests. */
  function written(): Set<string> {
    const events = new Set<string>();
    const files = fs.readdirSync(path.join(ROOT, 'server'), { recursive: true, encoding: 'utf8' });
    for (const f of files) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f.startsWith('testing') || f.includes('/testkit')) continue;
      for (const line of read(path.join('server', f)).split('\n')) {
        if (!/\bevent\s*[:=]/.test(line)) continue;
        for (const m of line.matchAll(/'([a-z_]+\.[a-z_]+)'/g)) events.add(m[1]!);
      }
    }
    return events;
  }

  it('lists every event the code writes, and only those, each once', () => {
    const documented = firstColumn('Audit events');
    expect(documented.length, 'an event documented twice').toBe(new Set(documented).size);
    expect([...documented].sort()).toEqual([...written()].sort());
  });

  it('includes every event server/services/audit.ts lists', () => {
    const known = read('server/services/audit.ts').split('export type KnownAuditEvent =')[1]!.split(';')[0]!;
    const documented = firstColumn('Audit events');
    for (const [, name] of known.matchAll(/'([a-z_.]+)'/g)) expect(documented).toContain(name);
  });
});

/** slsctl's output for `argv` (help needs no database). */
async function slsctl(argv: string[]): Promise<string> {
  let out = '';
  const code = await runSlsctl(argv, { out: (t) => (out += t), err: (t) => (out += t), readStdin: async () => '', promptHidden: async () => null, env: {} });
  expect(code, `slsctl ${argv.join(' ')}: ${out}`).toBe(0);
  return out;
}

const subcommandsOf = (help: string) => [...(help.split('\nCommands:\n')[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');

describe('slsctl in the docs', () => {
  it('every `slsctl …` command the docs show exists, with the options shown', async () => {
    const spans = (doc: string) => [...read(doc).matchAll(/`([^`\n]+)`/g)].map((m) => /\bslsctl(?:\.mjs)? (.+)/.exec(m[1]!)?.[1]).filter((c) => c !== undefined);
    const shown = DOCS.flatMap((doc) => spans(doc).map((c) => ({ doc, words: c.trim().split(/\s+/) })));
    expect(shown.length).toBeGreaterThan(10);
    for (const { doc, words } of shown) {
      if (words[0] === '…' || words[0]!.startsWith('-')) continue; // `slsctl …`, `slsctl --help`
      const path: string[] = [];
      let help = await slsctl(['--help']);
      for (const word of words) {
        const subs = subcommandsOf(help);
        if (subs.length === 0 || word.startsWith('-')) break;
        expect(subs, `${doc}: slsctl ${words.join(' ')}`).toContain(word);
        path.push(word);
        help = await slsctl([...path, '--help']);
      }
      for (const option of words.filter((w) => w.startsWith('--'))) expect(help, `${doc}: slsctl ${words.join(' ')}`).toContain(option.split('=')[0]);
    }
  });
});
