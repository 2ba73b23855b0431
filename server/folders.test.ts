// makeFolder: what `mkdir -p` does, and a plain refusal where Node 20's recursive mkdir looped forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder } from './folders.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'folders-'));

describe('makeFolder', () => {
  it('makes every missing folder, the last with the mode asked; an existing one is left as it is', () => {
    const root = tmp();
    const dir = path.join(root, 'a', 'b', 'c');
    makeFolder(dir, 0o700);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(dir).mode & 0o777).toBe(0o700 & ~process.umask());
    fs.writeFileSync(path.join(dir, 'kept'), 'x');
    makeFolder(dir, 0o700);
    expect(fs.readFileSync(path.join(dir, 'kept'), 'utf8')).toBe('x');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('refuses with mkdir’s codes: a file in the way (EEXIST), a file as a parent (ENOTDIR)', () => {
    const root = tmp();
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'x');
    expect(() => makeFolder(file)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => makeFolder(path.join(file, 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')('under /proc: refuses at once (ENOENT) where fs.mkdirSync({ recursive }) never returns', () => {
    expect(() => makeFolder('/proc/sls-no-such-folder/data')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
