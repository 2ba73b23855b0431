/**
 * The Electron main process: a thin adapter around the host services (SPEC C3).
 *
 * It owns the window and wires the contract to IPC: one `ipcMain.handle` per contract call,
 * generated from the names, each checking that the sender is our page's main frame before the
 * dispatcher (which validates the input) sees anything. The renderer is sandboxed and
 * context-isolated under a strict CSP, and loads from the app's own origin `app://sls`, never from
 * file:// (electron/app-protocol.ts); navigation, new windows, webviews and permission requests
 * are refused. Settings live in electron-store, secrets in the OS keychain.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell } from 'electron';
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import ElectronStore from 'electron-store';
import { CALL_NAMES, callChannel, eventChannel } from '../core/contract/names.ts';
import { DeviceManager } from '../native/device-manager.ts';
import { createOsKeychain } from '../native/keychain.ts';
import { SETTINGS_FILE_MODE, settingsFromKeyValueStore } from '../native/settings.ts';
import type { SettingsStore } from '../native/settings.ts';
import { APP_SCHEME, RENDERER_ENTRY_URL, respondToAppRequest } from './app-protocol.ts';
import { appInfo } from './host/app-info.ts';
import { createDeviceManagerDscPlusService } from './host/dscplus-devices.ts';
import { withDscPlusLogin } from './host/dscplus-login.ts';
import { createHost } from './host/index.ts';
import type { Host } from './host/index.ts';
import { devServerOverride, withServerOverride } from './release/dev-server.ts';
import { setupRelease } from './release/index.ts';
import { hardenWebContents, isTrustedSenderUrl } from './security.ts';

let mainWindow: BrowserWindow | null = null;
let host: Host | null = null;
/**
 * What must stop before the process ends: DSC+ discovery once started, then the host (which stops it
 * too, after cancelling a pending RESPOND on the card). Electron does not wait for promises of its
 * `will-quit` listeners, so the listener below holds the quit until this has settled.
 */
let closeOnQuit: (() => Promise<void>) | null = null;
/** A quit waits at most this long for the host: a DSC+ that does not answer CANCEL must not keep the app open. */
const HOST_CLOSE_TIMEOUT_MS = 5_000;
let quitState: 'running' | 'closing' | 'closed' = 'running';
/** 1 after a failed start, so `npm start` (bin/start.mjs) and scripts see the failure. */
let quitExitCode = 0;
/**
 * Opens the main window again once all were closed (macOS keeps the app running): `activate` (Dock,
 * Finder) and a second launch (`second-instance`, electron/release/single-instance.ts). Null until the
 * app has started; see `reopenWindow` in the ready handler.
 */
let reopenWindow: (() => void) | null = null;

const release = setupRelease({
  app,
  Menu,
  shell,
  dialog,
  BrowserWindow,
  getMainWindow: () => mainWindow,
  // The second instance's argv is not passed on: a launch only brings the window up.
  openMainWindow: () => reopenWindow?.(),
  onResetAppData: async () => {
    await host?.services.resetAppData({});
    mainWindow?.reload();
  },
});
if (!release.primary) process.exit(0);
const { logger, buildConfig } = release;

app.enableSandbox();

// Electron's security checklist: no file://, a custom protocol. `app://sls/…` serves the packaged
// renderer folder and nothing else (electron/app-protocol.ts). Standard (an origin of its own, so
// CSP 'self', storage and relative URLs work as on https) and secure (a secure context); fetch
// allowed for the page's own files. No bypassCSP, no CORS for other origins, no service workers.
// One call, before `ready`: Electron keeps only the last one.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

/** The packaged renderer (vite's dist/renderer, index.html and assets/): all that app:// serves. */
const rendererDir = join(app.getAppPath(), 'dist', 'renderer');

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return !!frame && frame === mainWindow?.webContents.mainFrame && isTrustedSenderUrl(frame.url);
}

function openSettings(): SettingsStore {
  // SPEC C3: owner-only, 0600 on every write (conf's `configFileMode`, see SETTINGS_FILE_MODE in
  // native/settings.ts). Its folder is Electron's userData, which we do not create: Electron makes it
  // with Chromium's base::CreateDirectory, 0700 on POSIX.
  const store = new ElectronStore<Record<string, unknown>>({ name: 'settings', clearInvalidConfig: true, configFileMode: SETTINGS_FILE_MODE });
  // electron-store's constructor answers `electron-store-get-data` on ipcMain (the user data folder and
  // version, for renderer-side stores) to any sender. The renderer uses no store: only the contract's
  // channels, each checking its sender, stay open (Electron checklist: validate every IPC sender).
  ipcMain.removeAllListeners('electron-store-get-data');
  const settings = settingsFromKeyValueStore(store);
  // First start: the server address this build was made for (release build config).
  if (!('serverAddress' in store.store)) settings.update({ serverAddress: buildConfig.defaultServerUrl });
  // `npm start` points an unpackaged client at the slsd it started, for this run only (never saved);
  // a packaged app ignores the switch.
  return withServerOverride(settings, devServerOverride(app, app.commandLine.getSwitchValue('sls-server')));
}

// Electron's security checklist, "Disable or limit navigation" (any frame: `will-frame-navigate`, not
// only the main frame's `will-navigate`), redirects, "Verify WebView options" (none attached) and "Disable
// or limit creation of new windows", for every WebContents (electron/security.ts, SPEC C3). A refusal is
// logged with the target's origin only, never its path or query.
app.on('web-contents-created', (_e, contents: WebContents) =>
  hardenWebContents(contents, (refused) => logger.warn('refused a navigation, redirect, webview or window', { ...refused })),
);

async function createWindow(settings: SettingsStore): Promise<void> {
  const state = settings.read().windowState;
  // Reviewed for electronegativity:
  // - REMOTE_MODULE_JS_CHECK: the remote module was removed in Electron 14; this is Electron 45, there is nothing to disable.
  // - PRELOAD_JS_CHECK: the preload (electron/preload.ts) exposes only one promise-returning method per contract call and
  //   `on` for the contract's events through contextBridge; never ipcRenderer, never Node. The host re-checks each sender.
  mainWindow = new BrowserWindow({ /* eng-disable REMOTE_MODULE_JS_CHECK */
    width: state?.width ?? 420,
    height: state?.height ?? 600,
    ...(state?.x !== undefined && state?.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: 360,
    minHeight: 480,
    title: 'SLS Desktop',
    backgroundColor: '#0f1419',
    show: false,
    // Written out here, not built by a helper, so static checkers (electronegativity) see each flag.
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.cjs'), /* eng-disable PRELOAD_JS_CHECK */
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      // Middle-click must not open links in new windows (electronegativity AUXCLICK_JS_CHECK).
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  });
  if (state?.maximized) mainWindow.maximize();
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('close', () => {
    if (!mainWindow) return;
    const b = mainWindow.getNormalBounds();
    settings.update({ windowState: { x: b.x, y: b.y, width: b.width, height: b.height, maximized: mainWindow.isMaximized() } });
  });
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
  const win = mainWindow;
  try {
    await win.loadURL(RENDERER_ENTRY_URL);
  } catch (error) {
    // loadURL rejects when the page fails to load (did-fail-load); 'ready-to-show' may then never come,
    // and a hidden window would keep the app (and its single-instance lock) alive with nothing on screen.
    // Shown, the user sees the failure and closing it quits as usual.
    logger.error('the renderer page did not load', { url: RENDERER_ENTRY_URL, error });
    if (!win.isDestroyed() && !win.isVisible()) win.show();
  }
}

/**
 * Nothing could be shown (settings, keychain or host failed): say so and quit with an error code,
 * rather than leave a windowless process holding the single-instance lock (later launches would only
 * quit, finding nothing to focus).
 */
function startFailed(error: unknown): void {
  logger.error('the app could not start', { error });
  dialog.showErrorBox('SLS Desktop could not start', `Something went wrong while starting. The details are in the log file:\n${logger.file}`);
  quitExitCode = 1;
  app.quit();
}

app.whenReady().then(async () => {
  const ses = session.defaultSession;
  // The window's session (the default one) answers app:// from the renderer folder, before the window loads.
  // (Electron's request also carries `initiatorOrigin`, which respondToAppRequest reads.)
  ses.protocol.handle(APP_SCHEME, (request) => respondToAppRequest(request, rendererDir));
  // SPEC C3: the renderer asks for nothing: camera, notifications, clipboard-read… all refused.
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    // The same policy as renderer/index.html's meta tag and the app:// handler's header (RENDERER_CSP in
    // electron/app-protocol.ts; kept as a literal here for static checkers, a test keeps the two equal).
    // CSP_GLOBAL_CHECK (low) flags script-src 'self' as bypassable where 'self' serves user content or JSONP; here
    // 'self' is app://sls, the app's own packaged files (dist/renderer in app.asar), which hold neither.
    callback({
      responseHeaders: { /* eng-disable CSP_GLOBAL_CHECK */
        ...details.responseHeaders,
        'Content-Security-Policy': ["default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"],
      },
    });
  });

  const settings = openSettings();
  const hostLog = (line: string) => logger.info(line);
  // SPEC C2: DSC+ cards over USB (and emulators in SLS_DSCPLUS_DIR) answer the challenge by themselves.
  const dscplus = createDeviceManagerDscPlusService(new DeviceManager(), { log: hostLog });
  closeOnQuit = () => dscplus.close();
  // Without discovery the typed response still works: never let it stop the app.
  await dscplus.start().catch((e: unknown) => logger.warn(`DSC+ discovery did not start: ${e instanceof Error ? e.message : String(e)}`));
  host = withDscPlusLogin(
    createHost({
      settings,
      keychain: createOsKeychain(),
      appInfo: appInfo('electron', app.getVersion()),
      dscplus,
      log: hostLog,
      clearCaches: async () => {
        await ses.clearStorageData();
        await ses.clearCache();
      },
      // SPEC T1, T2: the online Security Code Card PDF goes to the Downloads folder, then opens to print.
      offerFile: async (file) => {
        const dir = app.getPath('downloads');
        await mkdir(dir, { recursive: true });
        const target = join(dir, basename(file.name));
        await writeFile(target, file.bytes, { mode: 0o600 });
        void shell.openPath(target);
        return { savedTo: target };
      },
    }),
    dscplus,
    hostLog,
  );
  const h = host;
  closeOnQuit = () => h.close();
  for (const name of CALL_NAMES) {
    ipcMain.handle(callChannel(name), async (event, input: unknown) => {
      if (!isTrustedSender(event)) {
        logger.warn('refused IPC from an untrusted frame', { call: name });
        return { ok: false, error: { code: 'SLS_ERR_UNTRUSTED_SENDER', message: 'Refused.' } };
      }
      return h.dispatch(name, input);
    });
  }
  // Not to a window being torn down (between 'close' and 'closed'): send would throw inside the
  // listener, which may be a DSC+ hot-plug handler.
  h.events.subscribe((event, payload) => {
    if (mainWindow && !mainWindow.isDestroyed() && !mainWindow.webContents.isDestroyed()) mainWindow.webContents.send(eventChannel(event), payload);
  });
  await createWindow(settings);
  // One window at most, always made by createWindow (its webPreferences, its page: never a URL from a
  // command line); none while quitting, when the host is closing or closed.
  reopenWindow = () => {
    if (quitState !== 'running') return;
    if ((mainWindow && !mainWindow.isDestroyed()) || BrowserWindow.getAllWindows().length > 0) return;
    createWindow(settings).catch(startFailed);
  };
  app.on('activate', () => reopenWindow?.());
}).catch(startFailed);

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

/** host.close(), or what started before it, within HOST_CLOSE_TIMEOUT_MS; never rejects. */
async function closeBeforeExit(): Promise<void> {
  const close = closeOnQuit;
  if (!close) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), HOST_CLOSE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([close().then(() => 'closed' as const), late]);
    if (outcome === 'late') logger.warn('the host did not close in time; quitting anyway', { waitedMs: HOST_CLOSE_TIMEOUT_MS });
  } catch (error) {
    logger.warn('the host did not close cleanly; quitting anyway', { error });
  } finally {
    clearTimeout(timer);
  }
}

// Electron ends the process as soon as the will-quit listeners return, unless one calls preventDefault
// (App 'will-quit'). So: hold the quit, close the host (cancel a pending RESPOND on the DSC+, stop
// hot-plug), then quit again; that second will-quit passes.
app.on('will-quit', (event) => {
  if (quitState === 'closed') return;
  event.preventDefault();
  if (quitState === 'closing') return;
  quitState = 'closing';
  void closeBeforeExit().then(() => {
    quitState = 'closed';
    if (quitExitCode !== 0) app.exit(quitExitCode);
    else app.quit();
  });
});
