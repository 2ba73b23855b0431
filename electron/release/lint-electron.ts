/**
 * `npm run lint:electron`: Electronegativity over the Electron sources, failing on any finding or
 * on any file it cannot parse.
 *
 * Electronegativity's CLI was pointed at `electron/`, which held the esbuild bundle electron/dist:
 * its parser cannot read the bundle ("Unknown node type ClassPrivateProperty"), it guessed Electron
 * "v0.1.0", and it still printed "No issues" with exit 0 (the CLI never sets an exit code, for
 * findings or for parse errors). Here the tool runs through its programmatic API on a copy of the
 * sources only (electron/**\/*.ts without dist/ and tests; eng-disable annotations kept), with the
 * Electron version from package.json, and this script decides the exit code.
 *
 * Note: Electronegativity fetches updated message translations from its S3 bucket at start and
 * falls back to its bundled English ones when offline ("Could not retrieve updated translations").
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ElectronegativityIssue {
  readonly id: string;
  readonly file: string;
  readonly location: { readonly line: number; readonly column: number };
  readonly description?: string;
  readonly manualReview?: boolean;
}
export interface ElectronegativityError {
  readonly file: string;
  readonly message: string;
  /** A parser warning the tool recovered from; otherwise the file was not checked at all. */
  readonly tolerable: boolean;
}
export interface ElectronegativityResult {
  readonly errors: readonly ElectronegativityError[];
  readonly issues: readonly ElectronegativityIssue[];
}

/** Checks left out: AvailableSecurityFixesGlobalCheck asks the network for Electron's release list. */
export const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'] as const;

/** The Electron sources to check, relative to the project: electron/**\/*.ts, never dist/ or tests. */
export function electronSources(projectDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(projectDir, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'dist' && entry.name !== 'node_modules') walk(child);
      } else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push(child);
      }
    }
  };
  walk('electron');
  return out.sort();
}

/** The lowest Electron version package.json allows ("^45.5.0" → "45.5.0"): what the checks judge. */
export function electronVersionOf(packageJson: { devDependencies?: Record<string, string>; dependencies?: Record<string, string> }): string {
  const range = packageJson.devDependencies?.['electron'] ?? packageJson.dependencies?.['electron'];
  const match = range ? /^[\^~]?(\d+\.\d+\.\d+)$/.exec(range.trim()) : null;
  if (!match) throw new Error(`lint:electron: cannot read the Electron version from package.json (electron: ${range ?? 'missing'})`);
  return match[1]!;
}

type Run = (options: Record<string, unknown>, forCli: boolean) => Promise<ElectronegativityResult>;

/** Run Electronegativity on these files (relative to projectDir); paths in the result are relative too. */
export async function runElectronegativity(projectDir: string, files: readonly string[], electronVersion: string): Promise<ElectronegativityResult> {
  const require = createRequire(import.meta.url);
  const mod = require('@doyensec/electronegativity') as Run | { default: Run };
  const run = typeof mod === 'function' ? mod : mod.default;
  const stage = mkdtempSync(path.join(tmpdir(), 'sls-electronegativity-'));
  try {
    for (const f of files) {
      mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      cpSync(path.join(projectDir, f), path.join(stage, f));
    }
    const result = await run(
      { input: stage, customScan: [], excludeFromScan: EXCLUDED_CHECKS.map((c) => c.toLowerCase()), electronVersionOverride: electronVersion, parserPlugins: [], isRelative: false },
      false,
    );
    const rel = (file: string) => (path.isAbsolute(file) ? path.relative(stage, file) : file).replaceAll('\\', '/');
    return {
      errors: result.errors.map((e) => ({ ...e, file: rel(e.file) })),
      issues: result.issues.map((i) => ({ ...i, file: rel(i.file) })),
    };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** One line per reason to fail: every finding and every file that could not be parsed. Warnings are not failures. */
export function lintProblems(result: ElectronegativityResult): string[] {
  return [
    ...result.errors.filter((e) => !e.tolerable).map((e) => `${e.file}: could not be parsed, so it was not checked: ${e.message}`),
    ...result.issues.map((i) => `${i.file}:${i.location.line}:${i.location.column}: ${i.id}${i.manualReview ? ' (review required)' : ''}${i.description ? ` — ${i.description}` : ''}`),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const version = electronVersionOf(JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> });
  const files = electronSources(projectDir);
  const result = await runElectronegativity(projectDir, files, version);
  for (const w of result.errors.filter((e) => e.tolerable)) console.warn(`lint:electron: warning: ${w.file}: ${w.message}`);
  const problems = lintProblems(result);
  if (problems.length > 0) {
    for (const p of problems) console.error(`lint:electron: ${p}`);
    console.error(`lint:electron: ${problems.length} problem(s) in ${files.length} files (Electron ${version})`);
    process.exit(1);
  }
  console.log(`lint:electron: Electronegativity found no issues in ${files.length} source files (Electron ${version}; excluded: ${EXCLUDED_CHECKS.join(', ')})`);
}
