/**
 * The build configuration read at run time: the default server address and the build stamp.
 *
 * Release engineers choose the server a build talks to by default (SPEC N3; C1 lets the user
 * change it on the login screen). It ships as `build-config.json` beside app.asar
 * (electron-builder `extraResources`), so one binary layout serves every channel and the value
 * can be checked offline by `npm run check:build-config`. Only https is accepted, except on
 * loopback where the quick start's slsd listens (http://127.0.0.1:7860).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Used when the shipped file is missing or invalid: the quick start's local slsd, never a remote http host. */
export const FALLBACK_SERVER_URL = 'http://127.0.0.1:7860';

/** A coded error for a bad build configuration or server address; the message is safe to show. */
export class BuildConfigError extends Error {
  constructor(
    readonly code: 'SLS_ERR_BUILD_CONFIG_INVALID' | 'SLS_ERR_SERVER_ADDRESS_INVALID' | 'SLS_ERR_SERVER_ADDRESS_INSECURE',
    message: string,
  ) {
    super(message);
    this.name = 'BuildConfigError';
  }
}

/** True for the loopback names and addresses: localhost, 127.0.0.0/8 and [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** Top-level names reserved for tests and documentation (RFC 2606 §2, RFC 6761 §6): never a real server. */
const RESERVED_TOP_LEVEL = ['example', 'test', 'invalid', 'localhost'] as const;
/** Second-level names reserved for documentation (RFC 2606 §3), with every name under them. */
const RESERVED_DOMAINS = ['example.com', 'example.net', 'example.org'] as const;

/**
 * The reserved name a host name falls under (`.example`, `.test`, `.invalid`, `.localhost`,
 * `example.com`, `example.net`, `example.org`), or null for a name that may be real. Case and the
 * root's trailing dot do not matter; `localhost` itself is `.localhost`.
 */
export function reservedTestName(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const top = host.slice(host.lastIndexOf('.') + 1);
  if ((RESERVED_TOP_LEVEL as readonly string[]).includes(top)) return `.${top}`;
  return RESERVED_DOMAINS.find((d) => host === d || host.endsWith(`.${d}`)) ?? null;
}

/**
 * Why a build of `channel` cannot ship `defaultServerUrl` as its default server, or null (SPEC N3, C1).
 * A beta or stable build must name a real server: neither this computer (the committed dev default
 * http://127.0.0.1:7860) nor a name reserved for tests and documentation (`sls.example`,
 * `sls.example.com`, `*.test`, `*.invalid`, `*.localhost`), which would leave every installed copy
 * starting at a login screen that reaches no one. Dev builds (tests, demos, the quick start) may.
 * The reason starts in lower case: callers prefix where it was found.
 */
export function releaseServerProblem(config: Pick<BuildConfig, 'channel' | 'defaultServerUrl'>): string | null {
  if (config.channel === 'dev') return null;
  const host = new URL(config.defaultServerUrl).hostname;
  if (isLoopbackHost(host)) return `a ${config.channel} build cannot default to this computer (${config.defaultServerUrl})`;
  const reserved = reservedTestName(host);
  if (reserved) return `a ${config.channel} build needs a real default server: ${config.defaultServerUrl} is a name reserved for tests and documentation (${reserved}), which no release server has`;
  return null;
}

/**
 * Check a server address: an absolute https URL, or http on loopback only.
 *
 * Also used for the address a user types (SPEC C1): credentials in the URL, queries and
 * fragments are refused, so nothing secret can hide in a setting that is logged and shown.
 */
export function checkServerAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new BuildConfigError('SLS_ERR_SERVER_ADDRESS_INVALID', 'The server address is not a valid URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BuildConfigError('SLS_ERR_SERVER_ADDRESS_INVALID', 'The server address must start with https://.');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new BuildConfigError('SLS_ERR_SERVER_ADDRESS_INVALID', 'The server address must not carry a user name, password, query or fragment.');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new BuildConfigError('SLS_ERR_SERVER_ADDRESS_INSECURE', 'The server address must use https:// (plain http is allowed only on this computer).');
  }
  return url;
}

const buildConfigSchema = z
  .object({
    /** The server address the login screen starts with (SPEC C1). */
    defaultServerUrl: z.string().min(1),
    /** Release channel, shown in About. */
    channel: z.enum(['dev', 'beta', 'stable']).default('dev'),
    /** CI run number or other build id, shown in About next to the semver version. */
    buildNumber: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/).default('0'),
    /** Source commit of the build, shown in About. */
    commit: z.string().regex(/^[0-9a-f]{7,40}$/).optional(),
  })
  .strict();

/** The validated build configuration. */
export interface BuildConfig {
  readonly defaultServerUrl: string;
  readonly channel: 'dev' | 'beta' | 'stable';
  readonly buildNumber: string;
  readonly commit?: string | undefined;
}

/** The configuration used when none can be read (dev channel, local slsd). */
export const FALLBACK_BUILD_CONFIG: BuildConfig = Object.freeze({ defaultServerUrl: FALLBACK_SERVER_URL, channel: 'dev', buildNumber: '0' });

/** Parse and check the JSON text of build-config.json; throws BuildConfigError. */
export function parseBuildConfig(text: string): BuildConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BuildConfigError('SLS_ERR_BUILD_CONFIG_INVALID', 'build-config.json is not valid JSON.');
  }
  const parsed = buildConfigSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new BuildConfigError('SLS_ERR_BUILD_CONFIG_INVALID', `build-config.json has invalid fields: ${where}.`);
  }
  const url = checkServerAddress(parsed.data.defaultServerUrl);
  // Keep the address as written but without a trailing slash on a bare origin, so it compares equal to user input.
  const defaultServerUrl = url.pathname === '/' ? url.origin : url.href;
  return Object.freeze({ ...parsed.data, defaultServerUrl });
}

/** Read build-config.json from a file; throws BuildConfigError (missing file included). */
export function readBuildConfig(file: string, readText: (file: string) => string = (f) => readFileSync(f, 'utf8')): BuildConfig {
  let text: string;
  try {
    text = readText(file);
  } catch {
    throw new BuildConfigError('SLS_ERR_BUILD_CONFIG_INVALID', 'build-config.json could not be read.');
  }
  return parseBuildConfig(text);
}
