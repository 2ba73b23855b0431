/**
 * Reads and writes the emulator's state file (core/dscplus-state.ts) atomically.
 *
 * The tries left must survive a crash mid-write (SPEC H2: a wrong PIN must cost a try even if the
 * emulator is killed), so a save writes a temporary file next to the real one, flushes it and
 * renames it over the original.
 */
import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DEVICE_CATALOGUE } from '../../core/devices.ts';
import { DscPlusState } from '../../core/dscplus-state.ts';

export class StateFileError extends Error {
  readonly code = 'STATE_FILE_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateFileError';
  }
}

/** Loads and validates a state file; throws StateFileError naming the file and the problem. */
export async function loadDscPlusState(file: string): Promise<DscPlusState> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (cause) {
    throw new StateFileError(`cannot read the DSC+ state file ${file}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new StateFileError(`the DSC+ state file ${file} is not JSON`, { cause });
  }
  const parsed = DscPlusState.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new StateFileError(`the DSC+ state file ${file} is invalid at: ${where}`);
  }
  if (parsed.data.suite !== DEVICE_CATALOGUE.dscplus.ocraSuite) {
    throw new StateFileError(`the DSC+ state file ${file} names suite ${parsed.data.suite}, not the DSC+ suite (SPEC D2)`);
  }
  return parsed.data;
}

/** Writes the state file atomically (temp file, fsync, rename), mode 0600: it holds the secret. */
export async function saveDscPlusState(file: string, state: DscPlusState): Promise<void> {
  const valid = DscPlusState.parse(state);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(valid, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
}

/**
 * `checkDscPlusPinAsync` on Node's native PBKDF2 (libuv thread pool).
 *
 * The same PBKDF2-SHA256 over the state's salt and iterations (RFC 8018 §5.2), but off the main
 * thread and about five times faster than the pure-JS one, so the emulator's KEEPALIVEs and other
 * channels never wait on it. A test checks it agrees with core's `checkDscPlusPin`.
 */
export function checkDscPlusPinNative(state: DscPlusState, pin: string): Promise<boolean> {
  const { iterations, saltHex, hashHex } = state.pinHash;
  const expected = Buffer.from(hashHex, 'hex');
  if (expected.length === 0) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(pin, 'utf8'), Buffer.from(saltHex, 'hex'), iterations, expected.length, 'sha256', (error, actual) => {
      if (error) reject(error);
      else resolve(timingSafeEqual(actual, expected));
    });
  });
}
