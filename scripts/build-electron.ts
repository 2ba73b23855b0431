/**
 * `npm run build:electron`: bundle the Electron main process and preload with esbuild into electron/dist/.
 *
 * main.js is ESM with npm packages left external (electron-builder ships them; N-API modules cannot
 * be bundled). preload.cjs is CommonJS and self-contained, as a sandboxed preload must be: only
 * `electron` stays external. Our own TypeScript (electron/, native/, core/) is bundled into both.
 */
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node22', sourcemap: true, logLevel: 'info', legalComments: 'none' } as const;

await build({
  ...common,
  entryPoints: ['electron/main.ts'],
  outfile: 'electron/dist/main.js',
  format: 'esm',
  packages: 'external',
  // esbuild drops comments, so the reviewed electronegativity findings answered in electron/main.ts
  // (remote module gone since Electron 14; the preload's narrow API; CSP 'self' = packaged files) are
  // repeated as a file-wide annotation on the bundle.
  banner: { js: '/* eng-disable REMOTE_MODULE_JS_CHECK PRELOAD_JS_CHECK CSP_GLOBAL_CHECK */' },
});

await build({
  ...common,
  entryPoints: ['electron/preload.ts'],
  outfile: 'electron/dist/preload.cjs',
  format: 'cjs',
  external: ['electron'],
});
