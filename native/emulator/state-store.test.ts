import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkDscPlusPin, newDscPlusState } from '../../core/dscplus-state.ts';
import { StateFileError, checkDscPlusPinNative, loadDscPlusState, saveDscPlusState } from './state-store.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tmp = async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'dscplus-state-'));
  dirs.push(d);
  return d;
};

describe('emulator state file store (SPEC H1, H2)', () => {
  it('saves atomically (no temporary file left), mode 0600, and loads back the same state', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'card.json');
    const state = newDscPlusState({ serial: '4000000010', secret: new Uint8Array(20).fill(1), pin: '1234' });
    await saveDscPlusState(file, state);
    await saveDscPlusState(file, { ...state, triesLeft: 2 });
    expect(await readdir(dir)).toEqual(['card.json']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadDscPlusState(file)).toEqual({ ...state, triesLeft: 2 });
  });

  it('refuses to save an invalid state and leaves the file as it was', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'card.json');
    const state = newDscPlusState({ serial: '4000000010', secret: new Uint8Array(20).fill(1), pin: '1234' });
    await saveDscPlusState(file, state);
    await expect(saveDscPlusState(file, { ...state, triesLeft: -1 })).rejects.toThrow();
    expect(JSON.parse(await readFile(file, 'utf8')).triesLeft).toBe(3);
  });

  it('names the file and the problem for a missing, non-JSON or invalid file', async () => {
    const dir = await tmp();
    await expect(loadDscPlusState(path.join(dir, 'none.json'))).rejects.toThrow(StateFileError);
    await writeFile(path.join(dir, 'x.json'), 'not json');
    await expect(loadDscPlusState(path.join(dir, 'x.json'))).rejects.toThrow(/is not JSON/);
    await writeFile(path.join(dir, 'y.json'), '{"version":1,"serial":"1"}');
    await expect(loadDscPlusState(path.join(dir, 'y.json'))).rejects.toThrow(/invalid at: serial/);
  });

  it('the native PIN check agrees with core checkDscPlusPin', async () => {
    const state = newDscPlusState({ serial: '4000000010', secret: new Uint8Array(20).fill(1), pin: '0420' });
    for (const pin of ['0420', '0421', '', '04200']) {
      expect(await checkDscPlusPinNative(state, pin)).toBe(checkDscPlusPin(state, pin));
    }
    expect(await checkDscPlusPinNative(state, '0420')).toBe(true);
  });
});
