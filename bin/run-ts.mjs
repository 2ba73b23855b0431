// Runs a TypeScript entry point of this package: from its esbuild bundle when one is built and fresh,
// else from source under tsx, so the CLIs work from a clean checkout without a build step (`npx slsd`,
// `npx slsctl`, `npx ibkey`, `npx dscplus-emulator`).
//
// Why the bundle: under tsx, slsd spends ~148 MB resident on loading alone (tsx's loader thread runs
// its own V8 isolate, plus esbuild); from the bundle it runs on plain Node (SPEC N1, issue 7). A bundle
// counts as fresh only while it is newer than every file it was built from (`<name>.sources.json`,
// written by scripts/build-server.ts): edit a source and the next start runs the source, never stale
// code. SLS_FROM_SOURCE=1 always runs the source.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

/**
 * Whether the bundle at `bundleUrl` exists and is not older than any of its sources.
 *
 * Its sources are the files listed in `<name>.sources.json` beside it (our own files in the bundle,
 * plus tsconfig.json and the build script); about a hundred stats, a millisecond or two. Missing or
 * unreadable pieces (no manifest, a deleted source) count as stale: the source runs.
 */
export function freshBundle(bundleUrl) {
  try {
    const built = statSync(fileURLToPath(bundleUrl)).mtimeMs;
    const sources = JSON.parse(readFileSync(fileURLToPath(new URL(bundleUrl.href.replace(/\.mjs$/, '.sources.json'))), 'utf8'));
    const root = fileURLToPath(ROOT);
    if (!Array.isArray(sources.files) || sources.files.length === 0) return false;
    for (const file of sources.files) if (statSync(root + file).mtimeMs > built) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * Imports `entry` (relative to this folder) and calls its `main(argv)`.
 *
 * With `bundle` (relative to this folder, e.g. '../dist/server/slsd.mjs'), imports that instead while it
 * is fresh. tsx is loaded only when the source runs: importing its API alone costs memory.
 */
export async function run(entry, bundle) {
  const bundleUrl = bundle ? new URL(bundle, import.meta.url) : null;
  let url;
  if (bundleUrl && process.env.SLS_FROM_SOURCE !== '1' && freshBundle(bundleUrl)) {
    url = bundleUrl;
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    url = new URL(entry, import.meta.url);
  }
  const mod = await import(url.href);
  if (typeof mod.main === 'function') await mod.main(process.argv.slice(2));
}
