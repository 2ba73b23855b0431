/**
 * electron/main.ts itself, run under Node with a stubbed `electron` module (Electron's binary cannot
 * run here): the app lifecycle and the IPC surface, driven through the events Electron would emit.
 *
 * The host, DSC+ discovery, keychain and release setup are stubbed too: their own tests cover them;
 * here only what main.ts does with them matters (when it closes them, what it registers).
 */
import { EventEmitter } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Conf from 'conf';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_NAMES, callChannel } from '../core/contract/names.ts';
import type * as SingleInstance from './release/single-instance.ts';

/** The channel electron-store (node_modules/electron-store/index.js) answers in the main process. */
const ELECTRON_STORE_CHANNEL = 'electron-store-get-data';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface FakeFrame {
  url: string;
}

class FakeWebContents extends EventEmitter {
  mainFrame: FakeFrame = { url: 'app://sls/index.html' };
  send = vi.fn();
  isDestroyed = () => false;
  setWindowOpenHandler = vi.fn();
}

/** Everything main.ts reaches through `electron` and the stubbed modules, rebuilt for each test. */
function createFakes() {
  const ready = deferred();
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    commandLine: { getSwitchValue: vi.fn(() => '') },
    whenReady: () => ready.promise,
    enableSandbox: vi.fn(),
    getAppPath: () => '/opt/sls',
    getPath: (name: string) => `/tmp/sls-fake/${name}`,
    getVersion: () => '0.1.0',
    requestSingleInstanceLock: vi.fn(() => true),
    quit: vi.fn(),
    exit: vi.fn(),
  });
  const windows: FakeBrowserWindow[] = [];
  const loadURL = vi.fn(async (_url: string): Promise<void> => {});
  class FakeBrowserWindow extends EventEmitter {
    static getAllWindows = () => windows.filter((w) => !w.destroyed);
    destroyed = false;
    visible = false;
    minimized = false;
    webContents = new FakeWebContents();
    constructor(readonly options: Record<string, unknown>) {
      super();
      windows.push(this);
      app.emit('web-contents-created', {}, this.webContents);
    }
    loadURL = (url: string) => loadURL(url);
    isDestroyed = () => this.destroyed;
    isVisible = () => this.visible;
    show = vi.fn(() => {
      this.visible = true;
    });
    isMinimized = () => this.minimized;
    restore = vi.fn(() => {
      this.minimized = false;
    });
    focus = vi.fn();
    maximize = vi.fn();
    reload = vi.fn();
    /** The user closes it: Electron emits `close`, destroys it, emits `closed`. */
    closeByUser() {
      this.emit('close', { preventDefault() {} });
      this.destroyed = true;
      this.visible = false;
      this.emit('closed');
    }
    isMaximized = () => false;
    getNormalBounds = () => ({ x: 0, y: 0, width: 420, height: 600 });
  }
  const ipcMain = Object.assign(new EventEmitter(), {
    handlers: new Map<string, (event: unknown, ...args: unknown[]) => unknown>(),
    handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) {
      this.handlers.set(channel, fn);
    },
    removeHandler(channel: string) {
      this.handlers.delete(channel);
    },
  });
  const electron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    dialog: { showErrorBox: vi.fn(), showMessageBox: vi.fn(async () => ({ response: 0 })) },
    ipcMain,
    Menu: { buildFromTemplate: vi.fn(), setApplicationMenu: vi.fn() },
    protocol: { registerSchemesAsPrivileged: vi.fn() },
    session: {
      defaultSession: {
        protocol: { handle: vi.fn() },
        setPermissionRequestHandler: vi.fn(),
        setPermissionCheckHandler: vi.fn(),
        webRequest: { onHeadersReceived: vi.fn() },
        clearStorageData: vi.fn(async () => {}),
        clearCache: vi.fn(async () => {}),
      },
    },
    shell: { openPath: vi.fn(async () => '') },
  };
  const hostClose = vi.fn(async (): Promise<void> => {});
  const host = {
    dispatch: vi.fn(async (name: string, input: unknown) => ({ ok: true, value: { name, input } })),
    events: { subscribe: vi.fn() },
    services: { resetAppData: vi.fn(async () => ({})) },
    close: () => hostClose(),
  };
  const fakes = {
    ready,
    app,
    windows,
    loadURL,
    electron,
    ipcMain,
    host,
    hostClose,
    createHost: vi.fn((_options: unknown) => host),
    dscplus: { start: vi.fn(async () => {}), close: vi.fn(async () => {}) },
    logger: { file: '/tmp/sls-fake/logs/main.log', debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    /** What main.ts passed to each electron-store it made. */
    storeOptions: [] as Record<string, unknown>[],
  };
  return fakes;
}

const h = vi.hoisted(() => ({ fakes: null as unknown as ReturnType<typeof createFakes> }));

vi.mock('electron', () => ({
  get app() {
    return h.fakes.electron.app;
  },
  get BrowserWindow() {
    return h.fakes.electron.BrowserWindow;
  },
  get dialog() {
    return h.fakes.electron.dialog;
  },
  get ipcMain() {
    return h.fakes.electron.ipcMain;
  },
  get Menu() {
    return h.fakes.electron.Menu;
  },
  get protocol() {
    return h.fakes.electron.protocol;
  },
  get session() {
    return h.fakes.electron.session;
  },
  get shell() {
    return h.fakes.electron.shell;
  },
}));

// What electron-store 11 does in the main process (node_modules/electron-store/index.js; a test below
// keeps this true): its constructor answers `electron-store-get-data` on ipcMain, for any sender.
vi.mock('electron-store', () => ({
  default: class FakeElectronStore {
    store: Record<string, unknown> = {};
    readonly path = '/tmp/sls-fake/userData/settings.json';
    constructor(options: Record<string, unknown>) {
      h.fakes.storeOptions.push(options);
      h.fakes.electron.ipcMain.on(ELECTRON_STORE_CHANNEL, (event: { returnValue?: unknown }) => {
        event.returnValue = { defaultCwd: '/home/someone/.config/SLS Desktop', appVersion: '0.1.0' };
      });
    }
    clear() {
      this.store = {};
    }
  },
}));

// setupRelease's own test covers it; here it only takes the lock, through the real claimSingleInstance
// and with what main.ts gives it, so a second launch (`second-instance`) runs main.ts's own wiring.
vi.mock('./release/index.ts', async () => {
  const { claimSingleInstance } = await vi.importActual<typeof SingleInstance>('./release/single-instance.ts');
  return {
    setupRelease: (deps: { app: Parameters<typeof claimSingleInstance>[0]; getMainWindow: Parameters<typeof claimSingleInstance>[1]; openMainWindow?: () => void }) => {
      if (!claimSingleInstance(deps.app, deps.getMainWindow, deps.openMainWindow)) return { primary: false };
      return { primary: true, logger: h.fakes.logger, buildConfig: { defaultServerUrl: 'https://sls.example.com' } };
    },
  };
});
vi.mock('../native/device-manager.ts', () => ({ DeviceManager: class {} }));
vi.mock('../native/keychain.ts', () => ({ createOsKeychain: () => ({}) }));
vi.mock('./host/dscplus-devices.ts', () => ({ createDeviceManagerDscPlusService: () => h.fakes.dscplus }));
vi.mock('./host/dscplus-login.ts', () => ({ withDscPlusLogin: (host: unknown) => host }));
vi.mock('./host/index.ts', () => ({ createHost: (options: unknown) => h.fakes.createHost(options) }));

let fakes: ReturnType<typeof createFakes>;

/** Load main.ts afresh (its module state is per process) against new fakes. */
async function loadMain(): Promise<void> {
  fakes = createFakes();
  h.fakes = fakes;
  vi.resetModules();
  await import('./main.ts');
}

/** Electron becomes ready; resolves once main.ts has loaded the window's page. */
async function startApp(): Promise<void> {
  fakes.ready.resolve();
  await vi.waitFor(() => expect(fakes.loadURL).toHaveBeenCalled());
  await new Promise((r) => setImmediate(r));
}

function quitEvent() {
  const event = { defaultPrevented: false, preventDefault: vi.fn(() => void (event.defaultPrevented = true)) };
  return event;
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeEach(async () => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  await loadMain();
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  vi.useRealTimers();
});

describe('electron/main.ts: quitting closes the host first (Electron `will-quit`)', () => {
  it('holds the quit until the host has closed (a pending DSC+ RESPOND cancelled, hot-plug stopped), then quits', async () => {
    await startApp();
    const closing = deferred();
    fakes.hostClose.mockImplementation(() => closing.promise);

    // Electron terminates once the will-quit listeners return unless one calls preventDefault (electron.d.ts, App 'will-quit').
    const first = quitEvent();
    fakes.app.emit('will-quit', first);
    expect(first.preventDefault).toHaveBeenCalled();
    expect(fakes.hostClose).toHaveBeenCalledTimes(1);
    expect(fakes.app.quit).not.toHaveBeenCalled();

    // A second quit request while closing neither closes twice nor lets the process go.
    const again = quitEvent();
    fakes.app.emit('will-quit', again);
    expect(again.preventDefault).toHaveBeenCalled();
    expect(fakes.hostClose).toHaveBeenCalledTimes(1);

    closing.resolve();
    await vi.waitFor(() => expect(fakes.app.quit).toHaveBeenCalledTimes(1));
    expect(fakes.app.exit).not.toHaveBeenCalled();

    // app.quit() emits will-quit again: now nothing holds it.
    const last = quitEvent();
    fakes.app.emit('will-quit', last);
    expect(last.preventDefault).not.toHaveBeenCalled();
    expect(fakes.hostClose).toHaveBeenCalledTimes(1);
  });

  it('does not wait for ever on a host that does not close, nor hang on one that fails to', async () => {
    await startApp();
    vi.useFakeTimers();
    fakes.hostClose.mockImplementation(() => new Promise<void>(() => {}));
    const event = quitEvent();
    fakes.app.emit('will-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(fakes.app.quit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fakes.app.quit).toHaveBeenCalledTimes(1);
    expect(fakes.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/did not close/), expect.anything());
    vi.useRealTimers();

    await loadMain();
    await startApp();
    fakes.hostClose.mockImplementation(async () => {
      throw new Error('HID write failed');
    });
    fakes.app.emit('will-quit', quitEvent());
    await vi.waitFor(() => expect(fakes.app.quit).toHaveBeenCalledTimes(1));
    expect(fakes.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/did not close/), expect.anything());
    expect(unhandled).toEqual([]);
  });

  it('quits on the last window closed except on macOS', async () => {
    await startApp();
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    try {
      Object.defineProperty(process, 'platform', { value: 'darwin' });
      fakes.app.emit('window-all-closed');
      expect(fakes.app.quit).not.toHaveBeenCalled();
      Object.defineProperty(process, 'platform', { value: 'linux' });
      fakes.app.emit('window-all-closed');
      expect(fakes.app.quit).toHaveBeenCalledTimes(1);
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
  });
});

describe('electron/main.ts: a failed start ends the process instead of leaving it windowless', () => {
  it('reports a start-up error, closes what was started and exits with an error code', async () => {
    fakes.createHost.mockImplementation(() => {
      throw new Error('keychain unavailable');
    });
    fakes.ready.resolve();
    await vi.waitFor(() => expect(fakes.electron.dialog.showErrorBox).toHaveBeenCalled());
    expect(fakes.logger.error).toHaveBeenCalledWith(expect.stringMatching(/could not start/), expect.objectContaining({ error: expect.any(Error) }));
    expect(fakes.windows).toEqual([]);
    expect(fakes.app.quit).toHaveBeenCalledTimes(1);

    // The quit still closes what had started (DSC+ discovery), then ends with a failure code.
    const event = quitEvent();
    fakes.app.emit('will-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(fakes.app.exit).toHaveBeenCalledWith(1));
    expect(fakes.dscplus.close).toHaveBeenCalledTimes(1);
    expect(unhandled).toEqual([]);
  });

  it('shows the window when its page fails to load, rather than keep a hidden one alive', async () => {
    fakes.loadURL.mockImplementation(async () => {
      throw Object.assign(new Error('ERR_FAILED (-2) loading app://sls/index.html'), { code: 'ERR_FAILED', errno: -2 });
    });
    fakes.ready.resolve();
    await vi.waitFor(() => expect(fakes.logger.error).toHaveBeenCalledWith(expect.stringMatching(/page did not load/), expect.anything()));
    expect(fakes.windows).toHaveLength(1);
    expect(fakes.windows[0]!.show).toHaveBeenCalled();
    expect(unhandled).toEqual([]);
  });
});

describe('electron/main.ts: the IPC surface (Electron checklist: validate the sender of every IPC message)', () => {
  it('listens on the contract channels only: electron-store’s sender-blind channel is removed', async () => {
    await startApp();
    expect([...fakes.ipcMain.handlers.keys()].sort()).toEqual(CALL_NAMES.map(callChannel).sort());
    expect(fakes.ipcMain.eventNames()).toEqual([]);
  });

  it('answers a call from the main frame of our window only', async () => {
    await startApp();
    const win = fakes.windows[0]!;
    const handler = fakes.ipcMain.handlers.get(callChannel('getSettings'))!;
    expect(await handler({ senderFrame: win.webContents.mainFrame }, {})).toEqual({ ok: true, value: { name: 'getSettings', input: {} } });
    for (const senderFrame of [null, { url: 'app://sls/index.html' }, { url: 'https://evil.example/' }]) {
      expect(await handler({ senderFrame }, {})).toMatchObject({ ok: false, error: { code: 'SLS_ERR_UNTRUSTED_SENDER' } });
    }
    win.webContents.mainFrame.url = 'https://evil.example/';
    expect(await handler({ senderFrame: win.webContents.mainFrame }, {})).toMatchObject({ ok: false, error: { code: 'SLS_ERR_UNTRUSTED_SENDER' } });
    expect(fakes.host.dispatch).toHaveBeenCalledTimes(1);
  });

  it('the electron-store stub behaves like the installed electron-store (it registers that channel in the main process)', () => {
    const source = readFileSync(path.join(import.meta.dirname, '..', 'node_modules', 'electron-store', 'index.js'), 'utf8');
    expect(source).toContain(`ipcMain.on('${ELECTRON_STORE_CHANNEL}'`);
  });
});

describe('electron/main.ts: the settings file is owner-only (SPEC C3: user names, the server address)', () => {
  it.skipIf(process.platform === 'win32')('electron-store’s engine, given what main.ts gives electron-store, writes the file 0600 (an older 0644 one too)', async () => {
    await startApp();
    expect(fakes.storeOptions).toHaveLength(1);
    expect(fakes.storeOptions[0]).toMatchObject({ name: 'settings', configFileMode: 0o600 });

    // electron-store imports electron at load (its real package, past vi.mock, would fetch Electron's
    // binary), so its engine runs here: electron-store hands conf its options as they are, `name` as
    // `configName` and userData as `cwd` (the source check keeps that true).
    const source = readFileSync(path.join(import.meta.dirname, '..', 'node_modules', 'electron-store', 'index.js'), 'utf8');
    expect(source).toContain('options.configName = options.name;');
    expect(source).toContain('super(options);');
    const { name, ...rest } = fakes.storeOptions[0]!;
    const dir = mkdtempSync(path.join(tmpdir(), 'sls-electron-store-'));
    const before = process.umask(0o022);
    try {
      const store = new Conf<Record<string, unknown>>({ ...rest, configName: name as string, cwd: dir });
      store.store = { serverAddress: 'https://sls.example.com', rememberUsername: true, lastUsername: 'rhea' };
      expect(store.path).toBe(path.join(dir, 'settings.json'));
      expect((statSync(store.path).mode & 0o777).toString(8)).toBe('600');

      chmodSync(store.path, 0o644);
      store.store = { ...store.store, theme: 'light' };
      expect((statSync(store.path).mode & 0o777).toString(8)).toBe('600');
    } finally {
      process.umask(before);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('electron/main.ts: no frame navigates away (Electron checklist: disable or limit navigation, SPEC C3)', () => {
  /** A navigation event as Electron emits it (electron.d.ts, `Event<WebContentsWillFrameNavigateEventParams>`). */
  function navigation(url: string, isMainFrame: boolean) {
    const e = { url, isMainFrame, isSameDocument: false, frame: null, defaultPrevented: false, preventDefault: vi.fn(() => void (e.defaultPrevented = true)) };
    return e;
  }

  it('refuses a subframe’s navigation (will-frame-navigate), a redirect and a webview in the window’s contents, and logs only the origin', async () => {
    await startApp();
    const contents = fakes.windows[0]!.webContents;
    const sub = navigation('https://evil.example/phish?user=rhea', false);
    contents.emit('will-frame-navigate', sub);
    expect(sub.preventDefault).toHaveBeenCalled();
    const top = navigation('https://evil.example/', true);
    contents.emit('will-frame-navigate', top);
    expect(top.preventDefault).toHaveBeenCalled();
    const redirect = navigation('https://evil.example/landing', false);
    contents.emit('will-redirect', redirect);
    expect(redirect.preventDefault).toHaveBeenCalled();
    const webview = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', webview, {}, { src: 'https://evil.example/' });
    expect(webview.preventDefault).toHaveBeenCalled();
    expect(contents.setWindowOpenHandler.mock.calls[0]![0]({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });

    expect(fakes.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/refused a navigation/), { event: 'will-frame-navigate', to: 'https://evil.example', mainFrame: false });
    expect(JSON.stringify(fakes.logger.warn.mock.calls)).not.toContain('phish');
  });

  it('hardens every WebContents Electron creates, not only the main window’s', async () => {
    await startApp();
    const other = new FakeWebContents();
    fakes.app.emit('web-contents-created', {}, other);
    const e = navigation('https://evil.example/', false);
    other.emit('will-frame-navigate', e);
    expect(e.preventDefault).toHaveBeenCalled();
    expect(other.setWindowOpenHandler).toHaveBeenCalledTimes(1);
  });
});

/** What Electron passes to `second-instance`: (event, argv, workingDirectory, additionalData). */
function launchAgain(argv: string[] = ['/opt/sls/sls-desktop']): void {
  fakes.app.emit('second-instance', { preventDefault() {} }, argv, '/home/someone', {});
}

describe('electron/main.ts: a second launch brings the window up (`second-instance`, single instance)', () => {
  it('opens one window, with the first one’s webPreferences, when all were closed (macOS keeps the app running)', async () => {
    await startApp();
    const first = fakes.windows[0]!;
    first.closeByUser();
    expect(fakes.electron.BrowserWindow.getAllWindows()).toEqual([]);

    launchAgain();
    expect(fakes.electron.BrowserWindow.getAllWindows()).toHaveLength(1);
    const second = fakes.windows[1]!;
    expect(second.options['webPreferences']).toEqual(first.options['webPreferences']);
    expect(second.options['webPreferences']).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true });
    // Hardened like the first (web-contents-created) and loading the app's own page.
    expect(second.webContents.listenerCount('will-navigate')).toBe(1);
    expect(second.webContents.listenerCount('will-frame-navigate')).toBe(1);
    expect(second.webContents.setWindowOpenHandler).toHaveBeenCalled();
    await vi.waitFor(() => expect(fakes.loadURL).toHaveBeenCalledTimes(2));
    expect(fakes.loadURL).toHaveBeenLastCalledWith('app://sls/index.html');

    // The new window is the main one: the IPC handlers answer it, and a further launch focuses it.
    const handler = fakes.ipcMain.handlers.get(callChannel('getSettings'))!;
    expect(await handler({ senderFrame: second.webContents.mainFrame }, {})).toMatchObject({ ok: true });
    second.emit('ready-to-show');
    launchAgain();
    expect(fakes.windows).toHaveLength(2);
    expect(second.focus).toHaveBeenCalledTimes(1);
    expect(unhandled).toEqual([]);
  });

  it('restores and focuses a minimized window and opens no other', async () => {
    await startApp();
    const win = fakes.windows[0]!;
    win.emit('ready-to-show');
    win.minimized = true;
    launchAgain();
    expect(win.restore).toHaveBeenCalledTimes(1);
    expect(win.focus).toHaveBeenCalledTimes(1);
    expect(win.visible).toBe(true);
    expect(fakes.windows).toHaveLength(1);
  });

  it('loads nothing named on the second instance’s command line: a URL, a file or --sls-server= only bring the window up', async () => {
    await startApp();
    expect(fakes.app.commandLine.getSwitchValue).toHaveBeenCalledTimes(1);
    fakes.windows[0]!.closeByUser();
    launchAgain(['/opt/sls/sls-desktop', 'https://evil.example/phish', 'file:///etc/passwd', '--sls-server=http://evil.example']);
    await vi.waitFor(() => expect(fakes.loadURL).toHaveBeenCalledTimes(2));
    expect(fakes.loadURL.mock.calls).toEqual([['app://sls/index.html'], ['app://sls/index.html']]);
    // The server switch is read once, from the first instance's own command line (dev-server.ts validates it).
    expect(fakes.app.commandLine.getSwitchValue).toHaveBeenCalledTimes(1);
    expect(fakes.createHost).toHaveBeenCalledTimes(1);
    expect(fakes.windows).toHaveLength(2);
  });

  it('opens no window before the app has started, nor while it quits', async () => {
    launchAgain();
    expect(fakes.windows).toEqual([]);
    await startApp();
    expect(fakes.windows).toHaveLength(1);

    fakes.windows[0]!.closeByUser();
    fakes.hostClose.mockImplementation(() => new Promise<void>(() => {}));
    fakes.app.emit('will-quit', quitEvent());
    launchAgain();
    fakes.app.emit('activate');
    expect(fakes.windows).toHaveLength(1);
  });

  it('Dock and Finder (`activate`) and a second launch share one window', async () => {
    await startApp();
    fakes.windows[0]!.closeByUser();
    fakes.app.emit('activate');
    launchAgain();
    fakes.app.emit('activate');
    expect(fakes.electron.BrowserWindow.getAllWindows()).toHaveLength(1);
    expect(fakes.windows).toHaveLength(2);
  });
});
