/**
 * `fs.mkdirSync(dir, { recursive: true })` without its endless loop: on Node 20, a folder that
 * refuses children with ENOENT while it exists (procfs: `--data-dir /proc/x`) made the recursive
 * mkdir retry forever and slsd hang at start with no word. Here each missing folder is made in turn,
 * parent first; the first refusal is thrown with its code (start-refused wording in services/index.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

export function makeFolder(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); !fs.existsSync(p); p = path.dirname(p)) {
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder, mode === undefined ? {} : { mode });
    } catch (err) {
      // Made meanwhile by someone else (a second slsd starting): fine if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(folder).isDirectory()) throw err;
    }
  }
  // A file where the folder should be: said as mkdir says it.
  if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), { code: 'EEXIST', path: dir });
}
