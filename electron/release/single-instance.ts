/**
 * One running client per user session: a second launch brings the first one's window to the front.
 *
 * Two clients would race for the DSC+ (one HID exchange at a time, SPEC C2) and for the
 * keychain's restart token (L8); the second launch quits and the first comes to the front. When
 * the first has no window left (macOS keeps an app running once its windows are closed, see
 * `window-all-closed` in electron/main.ts), it opens one, as `activate` does for a Dock or Finder
 * launch: otherwise a launch from the command line would show nothing at all.
 *
 * The second instance's command line (Electron passes argv, working directory and additional data
 * to `second-instance`) is never read: a launch can bring the window up, not point it at a URL or a
 * file, nor change the server address (`--sls-server=` is read by the first instance from its own
 * command line only, electron/release/dev-server.ts).
 */

/** The part of Electron's `app` this needs. */
export interface SingleInstanceApp {
  requestSingleInstanceLock(): boolean;
  /** The listener takes no parameters on purpose: the second instance's argv never reaches it. */
  on(event: 'second-instance', listener: () => void): unknown;
  quit(): void;
}

/** The part of a BrowserWindow this needs. */
export interface FocusableWindow {
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
}

/** Bring a window to the front: restore if minimized, show if hidden, focus. */
export function focusWindow(window: FocusableWindow | null | undefined): boolean {
  if (!window || window.isDestroyed()) return false;
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
  return true;
}

/**
 * Take the single-instance lock.
 *
 * Returns false (after asking the app to quit) when another instance holds it; the caller must
 * then stop starting up. Otherwise later launches focus `getMainWindow()` or, when there is none,
 * call `openMainWindow()`: the main process's own window creation (the same webPreferences as the
 * first window), which must itself open nothing while a window exists or the app cannot show one
 * (not ready yet, quitting).
 */
export function claimSingleInstance(
  app: SingleInstanceApp,
  getMainWindow: () => FocusableWindow | null | undefined,
  openMainWindow?: () => void,
): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', () => {
    if (!focusWindow(getMainWindow())) openMainWindow?.();
  });
  return true;
}
