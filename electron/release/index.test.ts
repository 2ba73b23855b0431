import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aboutDetail, findMenuItem, setupRelease, type MenuItemTemplate, type ReleaseDeps, type ReleaseSetup } from './index.ts';
import { releaseMenuTemplate } from './menu.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Fakes of Electron's app, Menu, shell, dialog and a window, recording what was asked of them. */
function fakes(options: { lockHeld?: boolean; dialogResponse?: number; openPathResult?: string; buildConfig?: string | null } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sls-release-'));
  dirs.push(dir);
  const buildConfigPath = path.join(dir, 'build-config.json');
  if (options.buildConfig !== null)
    writeFileSync(buildConfigPath, options.buildConfig ?? '{"defaultServerUrl":"https://sls.example.com","channel":"stable","buildNumber":"412","commit":"0123456789abcdef"}');
  const calls: string[] = [];
  const listeners = new Map<string, () => void>();
  const window = {
    minimized: true,
    isDestroyed: () => false,
    isMinimized() { return this.minimized; },
    restore() { calls.push('window.restore'); this.minimized = false; },
    show: () => calls.push('window.show'),
    focus: () => calls.push('window.focus'),
  };
  let installed: unknown = undefined;
  const boxes: Array<{ message: string; detail?: string | undefined; buttons?: string[] | undefined }> = [];
  const deps: ReleaseDeps = {
    app: {
      isPackaged: true,
      getName: () => 'SLS Desktop',
      getVersion: () => '1.2.3',
      getAppPath: () => dir,
      getPath: () => path.join(dir, 'logs'),
      setAppLogsPath: () => calls.push('app.setAppLogsPath'),
      requestSingleInstanceLock: () => !(options.lockHeld ?? false),
      on: (event, listener) => listeners.set(event, listener),
      whenReady: () => Promise.resolve(),
      quit: () => calls.push('app.quit'),
    },
    Menu: {
      buildFromTemplate: (template: MenuItemTemplate[]) => ({ built: template }),
      setApplicationMenu: (menu: unknown) => { installed = menu; },
    },
    shell: { openPath: async (p: string) => { calls.push(`shell.openPath ${p}`); return options.openPathResult ?? ''; } },
    dialog: {
      showMessageBox: async (box) => { boxes.push(box); return { response: options.dialogResponse ?? 0 }; },
      showErrorBox: (title: string) => calls.push(`dialog.showErrorBox ${title}`),
    },
    getMainWindow: () => window,
    onResetAppData: () => { calls.push('onResetAppData'); },
    buildConfigPath,
    platform: 'linux',
    versions: { electron: '45.5.0', chrome: '140.0.0.0', node: '22.20.0' },
  };
  return { deps, calls, listeners, boxes, dir, installedMenu: () => installed };
}

function primary(result: ReturnType<typeof setupRelease>): ReleaseSetup {
  if (!result.primary) throw new Error('expected the primary instance');
  return result;
}

describe('setupRelease', () => {
  it('a second launch quits and does nothing else', () => {
    const f = fakes({ lockHeld: true });
    expect(setupRelease(f.deps)).toEqual({ primary: false });
    expect(f.calls).toEqual(['app.quit']);
  });

  it('the first instance restores and focuses its window when launched again', () => {
    const f = fakes();
    primary(setupRelease(f.deps));
    f.listeners.get('second-instance')!();
    expect(f.calls.filter((c) => c.startsWith('window.'))).toEqual(['window.restore', 'window.show', 'window.focus']);
  });

  it('reads the build config and shows version and build in About', async () => {
    const f = fakes();
    const release = primary(setupRelease(f.deps));
    expect(release.buildConfig.defaultServerUrl).toBe('https://sls.example.com');
    expect(release.buildInfo).toMatchObject({ productName: 'SLS Desktop', version: '1.2.3', buildNumber: '412', channel: 'stable' });
    await release.actions.showAbout();
    expect(f.boxes[0]!.detail).toContain('Version 1.2.3 (build 412)');
    expect(f.boxes[0]!.detail).toContain('Electron 45.5.0');
    expect(aboutDetail(release.buildInfo)).toContain('Commit 0123456789ab');
  });

  it('falls back to the local server and logs a coded error when the build config is insecure', () => {
    const f = fakes({ buildConfig: '{"defaultServerUrl":"http://sls.example.com"}' });
    const release = primary(setupRelease(f.deps));
    expect(release.buildConfig.defaultServerUrl).toBe('http://127.0.0.1:7860');
    expect(readFileSync(release.logger.file, 'utf8')).toContain('SLS_ERR_SERVER_ADDRESS_INSECURE');
  });

  it('installs the menu once the app is ready', async () => {
    const f = fakes();
    const release = primary(setupRelease(f.deps));
    await release.menuInstalled;
    expect(f.installedMenu()).toEqual({ built: release.menuTemplate });
  });

  it('resets app data only after the user confirms (SPEC C4)', async () => {
    const cancelled = fakes({ dialogResponse: 0 });
    expect(await primary(setupRelease(cancelled.deps)).actions.resetAppData()).toBe(false);
    expect(cancelled.calls).not.toContain('onResetAppData');
    expect(cancelled.boxes[0]!.buttons).toEqual(['Cancel', 'Reset App Data']);

    const confirmed = fakes({ dialogResponse: 1 });
    expect(await primary(setupRelease(confirmed.deps)).actions.resetAppData()).toBe(true);
    expect(confirmed.calls).toContain('onResetAppData');
  });

  it('reports a failed reset instead of crashing', async () => {
    const f = fakes({ dialogResponse: 1 });
    const release = primary(setupRelease({ ...f.deps, onResetAppData: () => Promise.reject(new Error('keychain locked')) }));
    expect(await release.actions.resetAppData()).toBe(false);
    expect(f.calls).toContain('dialog.showErrorBox Reset app data failed');
    expect(readFileSync(release.logger.file, 'utf8')).toContain('keychain locked');
  });

  it('opens the logs folder, and says where it is when the shell cannot', async () => {
    const ok = fakes();
    const release = primary(setupRelease(ok.deps));
    expect(await release.actions.openLogsFolder()).toBe(true);
    expect(ok.calls).toContain(`shell.openPath ${release.logsDir}`);
    expect(ok.calls).toContain('app.setAppLogsPath');

    const failing = fakes({ openPathResult: 'no file manager' });
    expect(await primary(setupRelease(failing.deps)).actions.openLogsFolder()).toBe(false);
    expect(failing.calls).toContain('dialog.showErrorBox Could not open the logs folder');
  });

  it('menu items call the actions: Quit quits', () => {
    const f = fakes();
    const release = primary(setupRelease(f.deps));
    findMenuItem(release.menuTemplate, 'quit')!.click!();
    expect(f.calls).toContain('app.quit');
  });
});

describe('release menu template', () => {
  const actions = { showAbout: () => {}, resetAppData: () => {}, openLogsFolder: () => {}, quit: () => {} };
  const ids = (t: MenuItemTemplate[]) => ['about', 'reset-app-data', 'open-logs-folder', 'quit'].map((id) => findMenuItem(t, id)?.id);

  it('has About, Reset app data, Open logs folder and Quit on every platform', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const)
      expect(ids(releaseMenuTemplate({ productName: 'SLS Desktop', platform, actions }))).toEqual(['about', 'reset-app-data', 'open-logs-folder', 'quit']);
  });

  it('has a standard Edit menu so copy and paste work (their shortcuts need it on macOS)', () => {
    const roles = findMenuItem(releaseMenuTemplate({ productName: 'SLS Desktop', platform: 'darwin', actions }), 'edit')!.submenu!.map((i) => i.role);
    expect(roles).toEqual(expect.arrayContaining(['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']));
  });

  it('puts the app menu first on macOS and the client’s own menus after Edit', () => {
    const account: MenuItemTemplate = { id: 'account', label: 'Account', submenu: [] };
    const mac = releaseMenuTemplate({ productName: 'SLS Desktop', platform: 'darwin', actions, extraMenus: [account] });
    expect(mac.map((m) => m.id)).toEqual(['app', 'edit', 'account', 'window']);
    const linux = releaseMenuTemplate({ productName: 'SLS Desktop', platform: 'linux', actions, extraMenus: [account] });
    expect(linux.map((m) => m.id)).toEqual(['file', 'edit', 'account', 'help']);
  });
});
