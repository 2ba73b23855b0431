/**
 * Stamp resources/build-config.json for a release build (run by .github/workflows/release.yml).
 *
 * The default server address, channel, build number and commit come from the CI environment
 * (SLS_DEFAULT_SERVER_URL, SLS_RELEASE_CHANNEL, BUILD_NUMBER or GITHUB_RUN_NUMBER, GITHUB_SHA)
 * and are checked by the same rules the app applies at run time, so a release can never ship
 * an http address to a remote host. Unset values keep what the file has, except the server of a
 * release: any channel but `dev` needs SLS_DEFAULT_SERVER_URL set to a real server's address, so a
 * beta or stable build can never ship the committed dev default (http://127.0.0.1:7860), another
 * loopback address or a name reserved for tests and documentation (`*.example`, `example.com`,
 * `*.test`, `*.invalid`, `*.localhost`: `releaseServerProblem`).
 *
 * Run: `tsx electron/release/stamp-build-config.ts [--release]`; `--release` (tag builds) also
 * refuses the `dev` channel. Exit 1 with one clear line on any refusal.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildConfigError, parseBuildConfig, releaseServerProblem, type BuildConfig } from './build-config.ts';

export interface StampOptions {
  /** A tagged release: the channel must not be `dev`. */
  readonly release?: boolean;
}

/** The stamped configuration for an environment, validated; throws BuildConfigError. */
export function stampBuildConfig(current: BuildConfig, env: Readonly<Record<string, string | undefined>>, options: StampOptions = {}): BuildConfig {
  const next = {
    defaultServerUrl: env['SLS_DEFAULT_SERVER_URL'] || current.defaultServerUrl,
    channel: env['SLS_RELEASE_CHANNEL'] || current.channel,
    buildNumber: env['BUILD_NUMBER'] || env['GITHUB_RUN_NUMBER'] || current.buildNumber,
    ...((env['GITHUB_SHA'] ?? current.commit) ? { commit: env['GITHUB_SHA'] ?? current.commit } : {}),
  };
  const stamped = parseBuildConfig(JSON.stringify(next));
  if (options.release && stamped.channel === 'dev') {
    throw new BuildConfigError('SLS_ERR_BUILD_CONFIG_INVALID', 'A tagged release cannot use the dev channel: set SLS_RELEASE_CHANNEL to beta or stable (or leave it unset for stable).');
  }
  if (stamped.channel !== 'dev') {
    if (!env['SLS_DEFAULT_SERVER_URL']) {
      throw new BuildConfigError(
        'SLS_ERR_BUILD_CONFIG_INVALID',
        `A ${stamped.channel} build needs its default server: set SLS_DEFAULT_SERVER_URL (the repository variable) to the release server's https:// address; the committed ${current.defaultServerUrl} is for development only.`,
      );
    }
    // Neither this computer nor a name reserved for tests and documentation (sls.example, *.test, …).
    const problem = releaseServerProblem(stamped);
    if (problem) {
      throw new BuildConfigError(
        'SLS_ERR_SERVER_ADDRESS_INVALID',
        `${problem[0]!.toUpperCase()}${problem.slice(1)}: set SLS_DEFAULT_SERVER_URL to the release server's https:// address, or SLS_RELEASE_CHANNEL=dev for a development build.`,
      );
    }
  }
  return stamped;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', 'build-config.json');
  try {
    const stamped = stampBuildConfig(parseBuildConfig(readFileSync(file, 'utf8')), process.env, { release: process.argv.includes('--release') });
    writeFileSync(file, `${JSON.stringify(stamped, null, 2)}\n`);
    console.log(`build-config.json: ${stamped.defaultServerUrl} (${stamped.channel}, build ${stamped.buildNumber})`);
  } catch (error) {
    if (!(error instanceof BuildConfigError)) throw error;
    console.error(`stamp-build-config: ${error.message} (${error.code})`);
    process.exit(1);
  }
}
