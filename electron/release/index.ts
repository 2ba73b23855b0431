/**
 * The app-as-released behaviour, in one call from the main process (SPEC N3, C4).
 *
 * `setupRelease` takes Electron's objects as parameters, so every piece is tested with fakes
 * and the desktop client's main.ts stays a thin adapter:
 *
 * ```ts
 * import { app, BrowserWindow, dialog, Menu, shell } from 'electron';
 * import { setupRelease } from './release/index.ts';
 * const release = setupRelease({ app, Menu, shell, dialog, BrowserWindow,
 *   getMainWindow: () => mainWindow, openMainWindow: () => reopenWindow(), onResetAppData: () => resetAppData() });
 * if (!release.primary) process.exit(0);   // another instance is running; its window was brought up
 * release.logger.info('started');
 * const serverUrl = settings.serverUrl ?? release.buildConfig.defaultServerUrl;
 * ```
 */
import path from 'node:path';
import { BuildConfigError, FALLBACK_BUILD_CONFIG, readBuildConfig, type BuildConfig } from './build-config.ts';
import { createFileLogger, redact, type LogLevel, type ReleaseLogger } from './logger.ts';
import { releaseMenuTemplate, type MenuItemTemplate } from './menu.ts';
import { claimSingleInstance, type FocusableWindow } from './single-instance.ts';

export { checkServerAddress, isLoopbackHost, parseBuildConfig, readBuildConfig, BuildConfigError, FALLBACK_BUILD_CONFIG } from './build-config.ts';
export type { BuildConfig } from './build-config.ts';
export { createFileLogger, redact, scrubText, isSecretFieldName, REDACTED } from './logger.ts';
export type { ReleaseLogger, LogLevel, FileLoggerOptions } from './logger.ts';
export { releaseMenuTemplate, findMenuItem } from './menu.ts';
export type { MenuItemTemplate, ReleaseMenuActions, ReleaseMenuOptions } from './menu.ts';
export { claimSingleInstance, focusWindow } from './single-instance.ts';
export type { FocusableWindow, SingleInstanceApp } from './single-instance.ts';

/** The part of Electron's `app` used here (Electron's `app` satisfies it). */
export interface ReleaseApp {
  readonly isPackaged: boolean;
  getName(): string;
  getVersion(): string;
  getAppPath(): string;
  getPath(name: 'logs'): string;
  setAppLogsPath(path?: string): void;
  requestSingleInstanceLock(): boolean;
  on(event: 'second-instance', listener: () => void): unknown;
  whenReady(): Promise<unknown>;
  quit(): void;
}

/** The part of Electron's `Menu` used here. */
export interface ReleaseMenuApi<TMenu = unknown> {
  buildFromTemplate(template: MenuItemTemplate[]): TMenu;
  setApplicationMenu(menu: TMenu | null): void;
}

/** The part of Electron's `shell` used here. */
export interface ReleaseShell {
  /** Resolves to '' on success, else an error message (Electron's contract). */
  openPath(path: string): Promise<string>;
}

/** The part of Electron's `dialog` used here. */
export interface ReleaseDialog {
  showMessageBox(options: {
    type?: 'none' | 'info' | 'error' | 'question' | 'warning';
    title?: string;
    message: string;
    detail?: string;
    buttons?: string[];
    defaultId?: number;
    cancelId?: number;
    noLink?: boolean;
  }): Promise<{ response: number }>;
  showErrorBox(title: string, content: string): void;
}

/** What `setupRelease` needs: Electron's objects and two callbacks of the desktop client. */
export interface ReleaseDeps {
  readonly app: ReleaseApp;
  readonly Menu: ReleaseMenuApi;
  readonly shell: ReleaseShell;
  readonly dialog: ReleaseDialog;
  /** Accepted for symmetry with main.ts; the focused window comes from getMainWindow. */
  readonly BrowserWindow?: unknown;
  /** The main window, if one is open (focused on a second launch). */
  readonly getMainWindow: () => FocusableWindow | null | undefined;
  /** Opens the main window when there is none (a second launch once all windows are closed on macOS). */
  readonly openMainWindow?: () => void;
  /** SPEC C4: clear local settings, caches and keychain entries. Called after the user confirms. */
  readonly onResetAppData: () => void | Promise<void>;
  /** Extra menus of the desktop client (e.g. Account, SPEC C6), placed after Edit. */
  readonly extraMenus?: readonly MenuItemTemplate[];
  /** Where build-config.json is; default: resources/ of the packaged app, or <appPath>/resources in development. */
  readonly buildConfigPath?: string;
  /** Folder of the log files; default Electron's logs path. */
  readonly logsDir?: string;
  readonly logLevel?: LogLevel;
  /** Default `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** Default `process.versions` (electron, chrome, node shown in About). */
  readonly versions?: Readonly<Record<string, string | undefined>>;
  /** Default `process.resourcesPath` (set by Electron). */
  readonly resourcesPath?: string;
}

/** Version and build shown in About and written at the top of each log. */
export interface BuildInfo {
  readonly productName: string;
  readonly version: string;
  readonly buildNumber: string;
  readonly channel: BuildConfig['channel'];
  readonly commit?: string | undefined;
  readonly electron?: string | undefined;
  readonly chrome?: string | undefined;
  readonly node?: string | undefined;
}

/** What `setupRelease` gives back to a primary instance. */
export interface ReleaseSetup {
  readonly primary: true;
  readonly logger: ReleaseLogger;
  readonly logsDir: string;
  readonly buildConfig: BuildConfig;
  readonly buildInfo: BuildInfo;
  readonly menuTemplate: MenuItemTemplate[];
  /** The same actions as the menu items, for tests and for other entry points. */
  readonly actions: { showAbout(): Promise<void>; resetAppData(): Promise<boolean>; openLogsFolder(): Promise<boolean>; quit(): void };
  /** Resolves once the application menu is installed (after app ready). */
  readonly menuInstalled: Promise<void>;
}

/** Text of the About box: product, version with build number, channel, runtimes. */
export function aboutDetail(info: BuildInfo): string {
  const lines = [`Version ${info.version} (build ${info.buildNumber})`, `Channel ${info.channel}`];
  if (info.commit) lines.push(`Commit ${info.commit.slice(0, 12)}`);
  if (info.electron) lines.push(`Electron ${info.electron}`);
  if (info.chrome) lines.push(`Chromium ${info.chrome}`);
  if (info.node) lines.push(`Node.js ${info.node}`);
  return lines.join('\n');
}

/**
 * Set up the released app's behaviour: single instance, log file, build config, menu.
 *
 * Call it first thing in main.ts, before `app.whenReady()`. A second instance gets
 * `{ primary: false }` and has already asked the app to quit; the first is focused.
 */
export function setupRelease(deps: ReleaseDeps): ReleaseSetup | { readonly primary: false } {
  const { app, dialog, shell } = deps;
  if (!claimSingleInstance(app, deps.getMainWindow, deps.openMainWindow)) return { primary: false };

  const productName = app.getName();
  let logsDir = deps.logsDir;
  if (logsDir === undefined) {
    app.setAppLogsPath();
    logsDir = app.getPath('logs');
  }
  const logger = createFileLogger({ dir: logsDir, level: deps.logLevel ?? 'info' });

  const resourcesPath = deps.resourcesPath ?? (process as { resourcesPath?: string }).resourcesPath ?? '';
  const buildConfigPath =
    deps.buildConfigPath ??
    (app.isPackaged ? path.join(resourcesPath, 'build-config.json') : path.join(app.getAppPath(), 'resources', 'build-config.json'));
  let buildConfig: BuildConfig;
  try {
    buildConfig = readBuildConfig(buildConfigPath);
  } catch (error) {
    const code = error instanceof BuildConfigError ? error.code : 'SLS_ERR_BUILD_CONFIG_INVALID';
    logger.error('build configuration unusable; using the local fallback', { code, reason: redact(error), file: buildConfigPath });
    buildConfig = FALLBACK_BUILD_CONFIG;
  }

  const versions = deps.versions ?? process.versions;
  const buildInfo: BuildInfo = Object.freeze({
    productName,
    version: app.getVersion(),
    buildNumber: buildConfig.buildNumber,
    channel: buildConfig.channel,
    commit: buildConfig.commit,
    electron: versions['electron'],
    chrome: versions['chrome'],
    node: versions['node'],
  });
  logger.info('app starting', { ...buildInfo, packaged: app.isPackaged, defaultServerUrl: buildConfig.defaultServerUrl });

  let resetting = false;
  const actions = {
    async showAbout(): Promise<void> {
      await dialog.showMessageBox({ type: 'info', title: `About ${productName}`, message: productName, detail: aboutDetail(buildInfo), buttons: ['OK'] });
    },
    /** SPEC C4: confirm, then clear; true when the data was reset. */
    async resetAppData(): Promise<boolean> {
      if (resetting) return false;
      resetting = true;
      try {
        const { response } = await dialog.showMessageBox({
          type: 'warning',
          title: 'Reset app data',
          message: 'Reset app data on this computer?',
          detail:
            'This signs you out and removes the saved server address, user name, preferences, caches and the ' +
            'saved sign-in in the system keychain. Your account and security devices are not affected.',
          buttons: ['Cancel', 'Reset App Data'],
          defaultId: 0,
          cancelId: 0,
          noLink: true,
        });
        if (response !== 1) {
          logger.info('reset app data cancelled');
          return false;
        }
        await deps.onResetAppData();
        logger.info('app data reset');
        return true;
      } catch (error) {
        logger.error('reset app data failed', { error });
        dialog.showErrorBox('Reset app data failed', 'Some local data could not be removed. Close the app and try again.');
        return false;
      } finally {
        resetting = false;
      }
    },
    async openLogsFolder(): Promise<boolean> {
      const problem = await shell.openPath(logsDir);
      if (problem !== '') {
        logger.warn('could not open the logs folder', { problem });
        dialog.showErrorBox('Could not open the logs folder', `The logs are in ${logsDir}`);
        return false;
      }
      return true;
    },
    quit(): void {
      logger.info('quit from menu');
      app.quit();
    },
  };

  const menuTemplate = releaseMenuTemplate({
    productName,
    platform: deps.platform ?? process.platform,
    actions: {
      showAbout: () => void actions.showAbout(),
      resetAppData: () => void actions.resetAppData(),
      openLogsFolder: () => void actions.openLogsFolder(),
      quit: () => actions.quit(),
    },
    ...(deps.extraMenus ? { extraMenus: deps.extraMenus } : {}),
  });

  const menuApi = deps.Menu;
  const menuInstalled = app.whenReady().then(() => {
    menuApi.setApplicationMenu(menuApi.buildFromTemplate(menuTemplate));
  });

  return { primary: true, logger, logsDir, buildConfig, buildInfo, menuTemplate, actions, menuInstalled };
}
