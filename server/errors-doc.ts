/**
 * Writes docs/errors.md from the error registry (`npm run docs:errors`).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorsMarkdown } from './errors.ts';

export const ERRORS_DOC_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

export function main(): void {
  fs.writeFileSync(ERRORS_DOC_PATH, renderErrorsMarkdown());
  console.log(`wrote ${ERRORS_DOC_PATH}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
