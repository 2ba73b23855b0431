/**
 * Stamp resources/build-config.json for a release build (run by .github/workflows/release.yml).
 *
 * The default server address, channel, build number and commit come from the CI environment
 * (SLS_DEFAULT_SERVER_URL, SLS_RELEASE_CHANNEL, BUILD_NUMBER or GITHUB_RUN_NUMBER, GITHUB_SHA)
 * and are checked by the same rules the app applies at run time, so a release can never ship
 * an http address to a remote host. Unset values keep what the file has.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBuildConfig, type BuildConfig } from './build-config.ts';

/** The stamped configuration for an environment, validated; throws BuildConfigError. */
export function stampBuildConfig(current: BuildConfig, env: Readonly<Record<string, string | undefined>>): BuildConfig {
  const next = {
    defaultServerUrl: env['SLS_DEFAULT_SERVER_URL'] || current.defaultServerUrl,
    channel: env['SLS_RELEASE_CHANNEL'] || current.channel,
    buildNumber: env['BUILD_NUMBER'] || env['GITHUB_RUN_NUMBER'] || current.buildNumber,
    ...((env['GITHUB_SHA'] ?? current.commit) ? { commit: env['GITHUB_SHA'] ?? current.commit } : {}),
  };
  return parseBuildConfig(JSON.stringify(next));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', 'build-config.json');
  const stamped = stampBuildConfig(parseBuildConfig(readFileSync(file, 'utf8')), process.env);
  writeFileSync(file, `${JSON.stringify(stamped, null, 2)}\n`);
  console.log(`build-config.json: ${stamped.defaultServerUrl} (${stamped.channel}, build ${stamped.buildNumber})`);
}
