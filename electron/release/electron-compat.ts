/**
 * Compile-time proof that Electron's own objects fit setupRelease's narrow parameter types.
 *
 * The release modules declare only the members they use (so tests pass fakes); this file
 * fails `tsc` if Electron 45's types ever stop matching them. It has no run-time code.
 */
import type { App, BrowserWindow, Dialog, Menu, Shell } from 'electron';
import type { MenuItemTemplate } from './menu.ts';
import type { ReleaseApp, ReleaseDialog, ReleaseMenuApi, ReleaseShell } from './index.ts';
import type { FocusableWindow } from './single-instance.ts';

type Fits<T, U> = T extends U ? true : false;
type Assert<T extends true> = T;

export type ElectronFitsRelease = [
  Assert<Fits<App, ReleaseApp>>,
  Assert<Fits<typeof Menu, ReleaseMenuApi>>,
  Assert<Fits<Shell, ReleaseShell>>,
  Assert<Fits<Dialog, ReleaseDialog>>,
  Assert<Fits<BrowserWindow, FocusableWindow>>,
  Assert<Fits<MenuItemTemplate, Electron.MenuItemConstructorOptions>>,
];
