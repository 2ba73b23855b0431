/**
 * Who this client is, as slsd and the About line see it.
 */
import { readFileSync } from 'node:fs';
import type { AppInfo } from '../../core/contract/index.ts';

export const APP_NAME = 'SLS Desktop';

/**
 * The trading-platform build number sent to slsd. 966 and newer get the Select Second Factor
 * Device drop-down (SPEC L3); this client implements it, so it reports a newer build.
 */
export const CLIENT_BUILD = 1012;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    // Bundled into electron/dist the relative path differs; the bundler defines the version instead.
    return process.env.SLS_APP_VERSION ?? '0.0.0';
  }
}

export function appInfo(host: AppInfo['host'], version: string = packageVersion()): AppInfo {
  return { name: APP_NAME, version, build: CLIENT_BUILD, host, platform: process.platform };
}

/** Shown to the IB Key user in the approval request (SPEC L7). */
export function clientName(): string {
  const os = process.platform === 'darwin' ? 'macOS' : process.platform === 'win32' ? 'Windows' : 'Linux';
  return `${APP_NAME} on ${os}`;
}
