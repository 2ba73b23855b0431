/**
 * `--sls-server=http://127.0.0.1:<port>`: `npm start` (bin/start.mjs) points the unpackaged client at
 * the slsd it just started.
 *
 * Only for development: a packaged build ignores the switch (a shortcut or a script could otherwise
 * re-point an installed client), and even in development the address is an in-memory override for
 * that run, never written to the settings file, so the user's chosen server is there again next time.
 */
import type { SettingsStore, StoredSettings } from '../../native/settings.ts';

const LOCAL_SLSD = /^http:\/\/127\.0\.0\.1:\d{1,5}$/;

/** The server address this run should use instead of the stored one, or null (packaged, absent or not local). */
export function devServerOverride(app: { readonly isPackaged: boolean }, switchValue: string | undefined): string | null {
  if (app.isPackaged || !switchValue) return null;
  return LOCAL_SLSD.test(switchValue) ? switchValue : null;
}

/**
 * Settings that read `address` as the server address until the user picks another one; the
 * override itself is never saved. Without an address, the settings themselves.
 */
export function withServerOverride(settings: SettingsStore, address: string | null): SettingsStore {
  if (address === null) return settings;
  let override: string | null = address;
  const view = (stored: StoredSettings): StoredSettings => (override === null ? stored : { ...stored, serverAddress: override });
  return {
    read: () => view(settings.read()),
    update(patch) {
      let next = patch;
      if ('serverAddress' in patch) {
        if (patch.serverAddress === override) {
          // The override echoed back (e.g. the login form saving what it shows): not the user's choice.
          const { serverAddress: _same, ...rest } = patch;
          next = rest;
        } else {
          // The user chose a server: it is saved and wins from now on.
          override = null;
        }
      }
      return view(settings.update(next));
    },
    clear: () => settings.clear(),
    get path() {
      return settings.path;
    },
  };
}
