/**
 * One running client per user session: a second launch focuses the first window.
 *
 * Two clients would race for the DSC+ (one HID exchange at a time, SPEC C2) and for the
 * keychain's restart token (L8); the second launch quits and the first comes to the front.
 */

/** The part of Electron's `app` this needs. */
export interface SingleInstanceApp {
  requestSingleInstanceLock(): boolean;
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
 * then stop starting up. Otherwise later launches focus `getMainWindow()`.
 */
export function claimSingleInstance(app: SingleInstanceApp, getMainWindow: () => FocusableWindow | null | undefined): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', () => {
    focusWindow(getMainWindow());
  });
  return true;
}
