/**
 * `fs.mkdirSync(dir, { recursive: true })` without its endless loop: on Node 20, a folder that
 * refuses children with ENOENT while it exists (procfs: `--data-dir /proc/x`) made the recursive
 * mkdir retry forever and slsd hang at start with no word. Here each missing folder is made in turn,
 * parent first; the first refusal is thrown with its code (start-refused wording in services/index.ts).
 *
 * Also what a start makes, as the start (server/main.ts) needs to know it: the outermost missing
 * folder of a path, and files made for the owner alone.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folders (or the file) of `p` not there yet, outermost first: what making it makes. */
function missingOf(p: string): string[] {
  const missing: string[] = [];
  for (let q = path.resolve(p); !fs.existsSync(q); q = path.dirname(q)) {
    missing.unshift(q);
    if (path.dirname(q) === q) break;
  }
  return missing;
}

/** What making `p` (a file or a folder, and the folders above it) would make first, or null when it is there: removing that removes all of it. */
export function firstMissing(p: string): string | null {
  return missingOf(p)[0] ?? null;
}

/** Makes `dir` and the folders above it that are missing; returns those it made, outermost first (a refused start may remove them again). */
export function makeFolder(dir: string, mode?: number): string[] {
  const made: string[] = [];
  for (const folder of missingOf(dir)) {
    try {
      fs.mkdirSync(folder, mode === undefined ? {} : { mode });
      made.push(folder);
    } catch (err) {
      // Made meanwhile by someone else (a second slsd starting): fine if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(folder).isDirectory()) throw err;
    }
  }
  // A file where the folder should be: said as mkdir says it.
  if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`EEXIST: file already exists, mkdir '${dir}'`), { code: 'EEXIST', path: dir });
  return made;
}

/**
 * From now on, what this process makes is its owner's alone (umask 077): the data folder may have
 * existed before with others allowed in (0755), and what SLS writes there (the database, device
 * files, cards, demo files) holds secrets (SPEC D4). Whatever must be shared is shared by the
 * operator's choice (chmod), never by default: nothing of SLS writes for another user. Called first
 * thing by slsd (server/main.ts); not by a library or a test, whose process is not SLS's.
 */
export function ownerOnlyFromNowOn(): void {
  if (process.platform !== 'win32') process.umask(0o077);
}
