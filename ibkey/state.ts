/**
 * One app installation kept in a state folder: what a phone would keep for IBKR Mobile.
 *
 * - `phone.json`: the phone itself (its platform); survives reinstalling the app.
 * - `app.json`: the app's data (installation id, server, users, inbox); gone on reinstall.
 * - The users' sealed keys (K1): on iOS in `keychain.json`, the iOS Keychain, which survives a
 *   reinstall and can follow the user to a new iPhone (iCloud Keychain) — that is what lets iOS
 *   recover with "the PIN originally set" (K4, K5). On Android they are app data (Android Keystore
 *   keys go with the app), so Android recovers with credentials and sets the PIN again.
 * Files are written 0600 via a temporary file and rename, so a crash never leaves half a file.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PinSealed } from './crypto.ts';
import type { AppMessage, IbKeyPlatform } from './protocol.ts';

export interface KeyEntry {
  readonly username: string;
  readonly deviceId: string;
  readonly sealed: PinSealed;
}

export interface AppUser {
  readonly username: string;
  readonly deviceId: string;
  readonly label: string;
  readonly activatedAt: string;
}

export interface AppData {
  readonly installationId: string;
  readonly server: string;
  readonly users: AppUser[];
  /**
   * K8 messages as received, still sealed to the device key: kept until the user dismisses them
   * (`ibkey inbox --dismiss`); a newer temporary password of the same key replaces the older one.
   */
  readonly inbox: (AppMessage & { username: string })[];
  /** Android: the sealed keys live with the app's data. */
  readonly keys: KeyEntry[];
}

export interface PhoneData {
  readonly platform: IbKeyPlatform;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export class AppState {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get #phoneFile() {
    return path.join(this.dir, 'phone.json');
  }
  get #appFile() {
    return path.join(this.dir, 'app.json');
  }
  get #keychainFile() {
    return path.join(this.dir, 'keychain.json');
  }

  phone(): PhoneData | null {
    return readJson<PhoneData>(this.#phoneFile);
  }

  /** The phone's platform, chosen at the first run. */
  ensurePhone(platform: IbKeyPlatform | undefined): PhoneData {
    const existing = this.phone();
    if (existing) {
      if (platform && platform !== existing.platform) throw new Error(`this phone is ${existing.platform}, not ${platform}`);
      return existing;
    }
    if (!platform) throw new Error('first run: choose the phone platform with --platform ios|android');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const phone: PhoneData = { platform };
    writeJson(this.#phoneFile, phone);
    return phone;
  }

  app(): AppData | null {
    return readJson<AppData>(this.#appFile);
  }

  /** The app's data, created (new installation id) on first use after install. */
  ensureApp(server: string | undefined): AppData {
    const existing = this.app();
    if (existing) {
      if (server && server !== existing.server) {
        const next = { ...existing, server };
        writeJson(this.#appFile, next);
        return next;
      }
      return existing;
    }
    const app: AppData = { installationId: `ins_${randomBytes(12).toString('base64url')}`, server: server ?? 'http://127.0.0.1:7860', users: [], inbox: [], keys: [] };
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeJson(this.#appFile, app);
    return app;
  }

  saveApp(app: AppData): void {
    writeJson(this.#appFile, app);
  }

  /** Sealed keys: the iOS Keychain, or Android app data. */
  keys(): KeyEntry[] {
    if (this.phone()?.platform === 'ios') return readJson<{ entries: KeyEntry[] }>(this.#keychainFile)?.entries ?? [];
    return this.app()?.keys ?? [];
  }

  /** Puts a user's sealed key in place of any earlier one of that user. */
  putKey(entry: KeyEntry): void {
    const others = this.keys().filter((k) => k.username !== entry.username);
    if (this.phone()?.platform === 'ios') {
      writeJson(this.#keychainFile, { entries: [...others, entry] });
    } else {
      const app = this.app();
      if (!app) throw new Error('no app data');
      this.saveApp({ ...app, keys: [...others, entry] });
    }
  }

  /** Removes the sealed keys of these devices (keys slsd no longer accepts, K5). */
  dropKeys(deviceIds: ReadonlySet<string>): void {
    const kept = this.keys().filter((k) => !deviceIds.has(k.deviceId));
    if (this.phone()?.platform === 'ios') {
      if (this.keys().length !== kept.length) writeJson(this.#keychainFile, { entries: kept });
    } else {
      const app = this.app();
      if (app) this.saveApp({ ...app, keys: kept });
    }
  }

  /** Uninstall and install again (K4): app data is gone; on iOS the Keychain stays. */
  reinstall(): void {
    fs.rmSync(this.#appFile, { force: true });
  }

  /**
   * iCloud Keychain: brings an iPhone's keychain to this iPhone (K5 iOS); returns how many keys came.
   *
   * Merged, as iCloud Keychain does, not overwritten: the keys of users this app serves stay (K3: an
   * iPhone may serve other users already), and an imported key takes the place of a stale one of the
   * same user only when the app does not serve that user with it.
   */
  importKeychain(fromDir: string): number {
    if (this.phone()?.platform !== 'ios') throw new Error('only an iPhone has an iCloud Keychain to restore');
    const from = readJson<{ entries: KeyEntry[] }>(path.join(fromDir, 'keychain.json'));
    if (!from) throw new Error(`no keychain in ${fromDir}`);
    const served = new Set((this.app()?.users ?? []).map((u) => u.deviceId));
    const same = (a: KeyEntry, b: KeyEntry) => a.username.toLowerCase() === b.username.toLowerCase();
    const here = this.keys();
    const kept = here.filter((k) => served.has(k.deviceId) || !from.entries.some((e) => same(e, k)));
    const added = from.entries.filter((e) => !kept.some((k) => same(e, k)));
    writeJson(this.#keychainFile, { entries: [...kept, ...added] });
    return added.length;
  }
}
