/**
 * The desktop client's settings file, behind one interface.
 *
 * What is kept (SPEC C3): server address, "Remember username" and the last user name (only while it
 * is ticked), the last device used per user (SPEC L2), the theme and the window state — never a
 * secret. Under plain Node the file is written by `conf`; in Electron by electron-store, which is
 * conf underneath (same format) but imports electron at load, so the Electron side builds it and
 * hands it to `settingsFromKeyValueStore`.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Conf from 'conf';
import { z } from 'zod';
import { Language } from '../core/contract/contract.ts';

/**
 * The settings file is owner-only (SPEC C3): no secret is in it, but the server address and, while
 * "Remember username" is ticked, user names are, and other accounts on the computer have no business
 * reading them. conf's (and electron-store's) `configFileMode` gives every write this mode: the file is
 * written to a temporary file with it and renamed, so a file an older version left 0644 is 0600 after
 * the next write. The library's default is 0o666 less the umask (0644 under the usual 022).
 */
export const SETTINGS_FILE_MODE = 0o600;
/** The folder the settings file is in, where we create it (conf makes it with the umask's mode, 0755 under the usual 022). */
export const SETTINGS_DIR_MODE = 0o700;

/** The embedded default: slsd on this machine, on its default port (`npm start`, SPEC N1). */
export const DEFAULT_SERVER_ADDRESS = 'http://127.0.0.1:7860';

export const WindowState = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof WindowState>;

export const StoredSettings = z.object({
  serverAddress: z.string().default(DEFAULT_SERVER_ADDRESS),
  rememberUsername: z.boolean().default(true),
  lastUsername: z.string().nullable().default(null),
  /** user name → device id last used to log in (SPEC L2 preselection). */
  lastDeviceByUser: z.record(z.string(), z.string()).default({}),
  theme: z.enum(['dark', 'light']).default('dark'),
  /** The client's language (UI.md "More: language"); null follows the system. */
  language: Language.nullable().default(null),
  windowState: WindowState.nullable().default(null),
});
export type StoredSettings = z.infer<typeof StoredSettings>;

export interface SettingsStore {
  read(): StoredSettings;
  /** Merge and persist; returns what is now stored. */
  update(patch: Partial<StoredSettings>): StoredSettings;
  /** Remove every setting (Reset app data, SPEC C4). */
  clear(): void;
  /** The file, when there is one (shown in the About line, used by tests). */
  readonly path: string | null;
}

/** The part of conf's (and electron-store's) API we use. */
export interface KeyValueStore {
  store: Record<string, unknown>;
  clear(): void;
  readonly path?: string;
}

/**
 * Reads through the schema, so a hand-edited or older file never yields a wrong type: a field that
 * does not parse falls back to its default instead of failing the whole app.
 */
function parseLenient(raw: Record<string, unknown>): StoredSettings {
  const whole = StoredSettings.safeParse(raw);
  if (whole.success) return whole.data;
  const fixed: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(StoredSettings.shape)) {
    const one = (schema as z.ZodType).safeParse(raw[key]);
    if (one.success) fixed[key] = raw[key];
  }
  return StoredSettings.parse(fixed);
}

export function settingsFromKeyValueStore(kv: KeyValueStore): SettingsStore {
  return {
    read: () => parseLenient(kv.store),
    update(patch) {
      const next = StoredSettings.parse({ ...parseLenient(kv.store), ...patch });
      kv.store = next as unknown as Record<string, unknown>;
      return next;
    },
    clear: () => kv.clear(),
    path: kv.path ?? null,
  };
}

/**
 * The settings file under plain Node (browser host, tests): `conf` in `dir`, or the OS config folder.
 * Owner-only (SETTINGS_FILE_MODE, SETTINGS_DIR_MODE).
 */
export function createConfSettingsStore(options: { dir?: string } = {}): SettingsStore {
  // A folder we are given (`--config-dir`) is created owner-only; one that exists stays as its owner set it.
  if (options.dir) mkdirSync(options.dir, { recursive: true, mode: SETTINGS_DIR_MODE });
  const conf = new Conf<Record<string, unknown>>({
    projectName: 'sls-desktop',
    configName: 'settings',
    ...(options.dir ? { cwd: options.dir } : {}),
    configFileMode: SETTINGS_FILE_MODE,
  });
  // conf's own folder (`<OS config folder>/sls-desktop-nodejs`) is this app's alone and holds only this
  // file, but conf creates it (in its constructor, from a path it works out itself) with the umask's
  // mode and offers no option for it: made owner-only here, an older 0755 one too. Not on Windows
  // (no POSIX modes; the folder is in the user's own profile). Best effort: the file is 0600 anyway.
  if (!options.dir && process.platform !== 'win32') {
    try {
      chmodSync(dirname(conf.path), SETTINGS_DIR_MODE);
    } catch {
      // Not ours to change (another owner): leave it; the file itself is still owner-only.
    }
  }
  return settingsFromKeyValueStore(conf);
}

/** In memory, for tests and for a host that must not touch the disk. */
export function createMemorySettingsStore(initial: Partial<StoredSettings> = {}): SettingsStore {
  let data: Record<string, unknown> = { ...initial };
  return settingsFromKeyValueStore({
    get store() {
      return data;
    },
    set store(value) {
      data = { ...value };
    },
    clear() {
      data = {};
    },
  });
}
