/** Flags after `node` on the first line of `binFile` ([] for a plain `#!/usr/bin/env node`). */
export function nodeFlagsOf(binFile: string): string[];
