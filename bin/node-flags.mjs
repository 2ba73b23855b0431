// The Node flags a command of this package runs with, read from its shebang line
// (`#!/usr/bin/env -S node --flag …`), so whatever starts it as `node <flags> bin/x.mjs` (npm start,
// the tests' and benchmarks' spawnSlsd) runs it exactly as `npx x` does. One place to change them.
import { readFileSync } from 'node:fs';

/** Flags after `node` on the first line of `binFile` ([] for a plain `#!/usr/bin/env node`). */
export function nodeFlagsOf(binFile) {
  const first = readFileSync(binFile, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env\s+(?:-S\s+)?node((?:\s+--[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) throw new Error(`${binFile}: not a "#!/usr/bin/env [-S] node [--flags]" line: ${first}`);
  return m[1].trim() === '' ? [] : m[1].trim().split(/\s+/);
}
