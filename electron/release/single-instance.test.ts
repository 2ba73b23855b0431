import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { claimSingleInstance, type FocusableWindow } from './single-instance.ts';

/** Electron's `app`, as far as the lock goes: `second-instance` is emitted with Electron's arguments. */
function fakeApp(lockHeld = false) {
  const events = new EventEmitter();
  return Object.assign(events, {
    requestSingleInstanceLock: vi.fn(() => !lockHeld),
    quit: vi.fn(),
    /** What Electron passes: (event, argv, workingDirectory, additionalData). */
    launchAgain(argv: string[] = ['/opt/SLS Desktop/sls-desktop']) {
      events.emit('second-instance', { preventDefault() {} }, argv, '/home/someone', {});
    },
  });
}

function fakeWindow(state: { minimized?: boolean; destroyed?: boolean } = {}) {
  const calls: string[] = [];
  const window: FocusableWindow & { calls: string[] } = {
    calls,
    isDestroyed: () => state.destroyed ?? false,
    isMinimized: () => state.minimized ?? false,
    restore: () => void calls.push('restore'),
    show: () => void calls.push('show'),
    focus: () => void calls.push('focus'),
  };
  return window;
}

describe('claimSingleInstance: a second launch brings the first instance up', () => {
  it('a second instance quits without opening or focusing anything', () => {
    const app = fakeApp(true);
    const open = vi.fn();
    expect(claimSingleInstance(app, () => null, open)).toBe(false);
    expect(app.quit).toHaveBeenCalledTimes(1);
    expect(app.listenerCount('second-instance')).toBe(0);
  });

  it('opens the main window when there is none (macOS, all windows closed)', () => {
    const app = fakeApp();
    const open = vi.fn();
    expect(claimSingleInstance(app, () => null, open)).toBe(true);
    app.launchAgain();
    expect(open).toHaveBeenCalledTimes(1);
    expect(open).toHaveBeenCalledWith();
  });

  it('opens one when the window it knows of is destroyed', () => {
    const app = fakeApp();
    const open = vi.fn();
    const gone = fakeWindow({ destroyed: true });
    claimSingleInstance(app, () => gone, open);
    app.launchAgain();
    expect(open).toHaveBeenCalledTimes(1);
    expect(gone.calls).toEqual([]);
  });

  it('restores, shows and focuses a minimized window, and opens no other', () => {
    const app = fakeApp();
    const open = vi.fn();
    const window = fakeWindow({ minimized: true });
    claimSingleInstance(app, () => window, open);
    app.launchAgain();
    expect(window.calls).toEqual(['restore', 'show', 'focus']);
    expect(open).not.toHaveBeenCalled();
  });

  it('never hands the second instance’s command line on: a URL, a file or --sls-server= in argv only brings the window up', () => {
    const app = fakeApp();
    const open = vi.fn();
    let window: FocusableWindow | null = null;
    claimSingleInstance(app, () => window, open);
    app.launchAgain(['sls-desktop', 'https://evil.example/phish', '--sls-server=http://evil.example', 'file:///etc/passwd']);
    expect(open).toHaveBeenCalledTimes(1);
    expect(open.mock.calls[0]).toEqual([]);
    window = fakeWindow();
    app.launchAgain(['sls-desktop', 'https://evil.example/phish']);
    expect(open).toHaveBeenCalledTimes(1);
  });
});
