/**
 * The application menu as released: About, Reset app data, Open logs folder, Quit, and Edit.
 *
 * A pure template builder (tested without Electron); `Menu.buildFromTemplate` turns it into a
 * menu. Reset app data is SPEC C4. The Edit menu's roles give copy/paste and their shortcuts,
 * which on macOS exist only when the menu has them. The desktop client adds its own menus
 * (e.g. Account, SPEC C6) through `extraMenus`.
 */

/** A menu item: the subset of Electron's MenuItemConstructorOptions used here. */
export interface MenuItemTemplate {
  id?: string;
  label?: string;
  role?:
    | 'undo' | 'redo' | 'cut' | 'copy' | 'paste' | 'pasteAndMatchStyle' | 'delete' | 'selectAll'
    | 'hide' | 'hideOthers' | 'unhide' | 'services' | 'windowMenu' | 'editMenu' | 'minimize' | 'close' | 'front' | 'zoom';
  type?: 'normal' | 'separator' | 'submenu';
  accelerator?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItemTemplate[];
}

/** What the release menu items do. */
export interface ReleaseMenuActions {
  showAbout(): void;
  resetAppData(): void;
  openLogsFolder(): void;
  quit(): void;
}

export interface ReleaseMenuOptions {
  readonly productName: string;
  readonly platform: NodeJS.Platform;
  readonly actions: ReleaseMenuActions;
  /** Menus of the desktop client, placed after Edit (e.g. Account). */
  readonly extraMenus?: readonly MenuItemTemplate[];
}

const separator: MenuItemTemplate = { type: 'separator' };

const editMenu: MenuItemTemplate = {
  id: 'edit',
  label: 'Edit',
  submenu: [
    { role: 'undo' },
    { role: 'redo' },
    separator,
    { role: 'cut' },
    { role: 'copy' },
    { role: 'paste' },
    { role: 'pasteAndMatchStyle' },
    { role: 'delete' },
    separator,
    { role: 'selectAll' },
  ],
};

/** Build the menu template for a platform: the macOS app menu, or File/Help elsewhere. */
export function releaseMenuTemplate(options: ReleaseMenuOptions): MenuItemTemplate[] {
  const { actions, productName } = options;
  const about: MenuItemTemplate = { id: 'about', label: `About ${productName}`, click: () => actions.showAbout() };
  const reset: MenuItemTemplate = { id: 'reset-app-data', label: 'Reset App Data…', click: () => actions.resetAppData() };
  const logs: MenuItemTemplate = { id: 'open-logs-folder', label: 'Open Logs Folder', click: () => actions.openLogsFolder() };
  const extra = [...(options.extraMenus ?? [])];

  if (options.platform === 'darwin') {
    const quit: MenuItemTemplate = { id: 'quit', label: `Quit ${productName}`, accelerator: 'Command+Q', click: () => actions.quit() };
    return [
      {
        id: 'app',
        label: productName,
        submenu: [about, separator, reset, logs, separator, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, separator, quit],
      },
      editMenu,
      ...extra,
      { id: 'window', role: 'windowMenu' },
    ];
  }
  const quit: MenuItemTemplate = { id: 'quit', label: 'Quit', accelerator: 'Ctrl+Q', click: () => actions.quit() };
  return [
    { id: 'file', label: '&File', submenu: [reset, logs, separator, quit] },
    { ...editMenu, label: '&Edit' },
    ...extra,
    { id: 'help', label: '&Help', submenu: [about] },
  ];
}

/** Find an item by id anywhere in a template (for tests and for the desktop client). */
export function findMenuItem(template: readonly MenuItemTemplate[], id: string): MenuItemTemplate | undefined {
  for (const item of template) {
    if (item.id === id) return item;
    const inner = item.submenu ? findMenuItem(item.submenu, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
}
