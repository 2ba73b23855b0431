// makeFolder: what `mkdir -p` does, and a plain refusal where Node 20's recursive mkdir looped forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstMissing, makeFolder, ownerOnlyFromNowOn } from './folders.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'folders-'));

describe('makeFolder', () => {
  it('makes every missing folder, the last with the mode asked; an existing one is left as it is', () => {
    const root = tmp();
    const dir = path.join(root, 'a', 'b', 'c');
    expect(makeFolder(dir, 0o700)).toEqual([path.join(root, 'a'), path.join(root, 'a', 'b'), dir]); // what it made, for a refused start to remove
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(dir).mode & 0o777).toBe(0o700 & ~process.umask());
    fs.writeFileSync(path.join(dir, 'kept'), 'x');
    expect(makeFolder(dir, 0o700)).toEqual([]);
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

describe('firstMissing: what making a path would make first', () => {
  it('the outermost missing folder above it, itself, or null when it is there', () => {
    const root = tmp();
    expect(firstMissing(root)).toBeNull();
    expect(firstMissing(path.join(root, 'a', 'b', 'sls.db'))).toBe(path.join(root, 'a'));
    expect(firstMissing(path.join(root, 'server.key'))).toBe(path.join(root, 'server.key'));
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe.runIf(process.platform !== 'win32')('ownerOnlyFromNowOn', () => {
  it('makes what the process makes next its owner\'s alone (umask 077), whatever the umask was', () => {
    const before = process.umask(0o022);
    try {
      ownerOnlyFromNowOn();
      const root = tmp();
      fs.writeFileSync(path.join(root, 'f'), 'x');
      fs.mkdirSync(path.join(root, 'd'));
      expect((fs.statSync(path.join(root, 'f')).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.join(root, 'd')).mode & 0o777).toString(8)).toBe('700');
      fs.rmSync(root, { recursive: true, force: true });
    } finally {
      process.umask(before);
    }
  });
});
