/**
 * The desktop client's log file: JSON lines, size-based rotation, secrets redacted.
 *
 * Support asks users for this file ("Open logs folder" in the menu), so nothing in it may help
 * an attacker: passwords, PINs, challenge responses, security codes, session and restart tokens
 * (SPEC L8, H2) are replaced by `[redacted]` before a line is written, whether they come as a
 * field (by its name) or inside free text (by their shape). A tiny logger rather than a library:
 * the redaction is the point and must sit on the only write path.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** What the rest of the main process logs through. */
export interface ReleaseLogger {
  /** Absolute path of the current log file. */
  readonly file: string;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface FileLoggerOptions {
  /** Folder of the log files; created (0700) if missing. */
  readonly dir: string;
  /** Default `main.log`; rotated files are `main.1.log` … `main.N.log`. */
  readonly fileName?: string;
  /** Rotate before a line would make the file larger than this. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Rotated files kept besides the current one. Default 3. */
  readonly maxFiles?: number;
  /** Lowest level written. Default `info`. */
  readonly level?: LogLevel;
  readonly now?: () => Date;
}

export const REDACTED = '[redacted]';

/** Words that mark a field as secret, matched against the words of its name (camelCase, snake_case, kebab-case). */
const secretWords = new Set([
  'password', 'passwd', 'passphrase', 'passcode', 'pin', 'token', 'secret', 'code', 'codes', 'otp', 'response',
  'answer', 'authorization', 'cookie', 'credential', 'credentials', 'key', 'apikey', 'signature', 'session', 'sid',
]);

/** True when a field name names a secret, e.g. `password`, `restartToken`, `pin_code`, `X-Api-Key`. */
export function isSecretFieldName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((w) => secretWords.has(w)) || secretWords.has(name.toLowerCase().replace(/[^a-z]/g, ''));
}

/**
 * Scrub secrets out of free text by their shape.
 *
 * `name=value` / `name: value` pairs whose name is secret, `Bearer …`/`Basic …` credentials,
 * long opaque tokens (20+ base64url/hex characters with digits or mixed case) and runs of 4+ digits (PINs, 6–8 digit
 * challenge responses and SMS codes). Digits after `:` (ports) or inside dotted/dashed numbers
 * (versions, dates), an OS user id (`uid 1000`) and our coded errors (`code=SLS_ERR_…`, as `redact`
 * keeps them) are kept so the log stays useful.
 */
export function scrubText(text: string): string {
  return scrubPairs(text.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`))
    .replace(/(?<![A-Za-z0-9_\-[])[A-Za-z0-9_-]{20,}={0,2}(?![A-Za-z0-9_-])/g, (token) =>
      // Random tokens mix digits or letter cases; long plain words and CONSTANT_NAMES are kept.
      /\d/.test(token) || (/[a-z]/.test(token) && /[A-Z]/.test(token)) ? REDACTED : token,
    )
    .replace(/(?<![\d:.\-/])(?<!\buid[ =])\d{4,}(?![\d.\-/:])/g, REDACTED);
}

/**
 * `name=value` / `name: value` pairs whose name is secret, redacted. The value of any other pair is
 * looked into too: a pair may sit inside it (`origin=https://x?password=…`, `settings: password=…`),
 * and a match never overlaps the one before it.
 */
function scrubPairs(text: string): string {
  return text.replace(/(["']?)([A-Za-z_][A-Za-z0-9_-]*)\1(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)/g, (whole, quote: string, name: string, sep: string, value: string) => {
    if (!isSecretFieldName(name)) return `${quote}${name}${quote}${sep}${scrubPairs(value)}`;
    return isErrorCode(value.replace(/^["']|["']$/g, '')) ? whole : `${quote}${name}${quote}${sep}"${REDACTED}"`;
  });
}

/** Our coded errors (`SLS_ERR_…`) are names, not secrets, and support needs them. */
function isErrorCode(value: string): boolean {
  return /^SLS_ERR_[A-Z0-9_]+$/.test(value);
}

/** Deep-copy a value with secret fields redacted and strings scrubbed; Errors become {name, message, stack}. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[too deep]';
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Error) {
    return { name: value.name, message: scrubText(value.message), stack: value.stack ? scrubText(value.stack) : undefined };
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // Our coded errors (`code: 'SLS_ERR_…'`) are kept.
    const errorCode = typeof v === 'string' && isErrorCode(v);
    out[key] = isSecretFieldName(key) && v !== undefined && v !== null && !errorCode ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

/** Create the file logger; every line is one JSON object `{t, level, msg, ...fields}`. */
export function createFileLogger(options: FileLoggerOptions): ReleaseLogger {
  const fileName = options.fileName ?? 'main.log';
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const maxFiles = options.maxFiles ?? 3;
  const minRank = levelRank[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  const file = path.join(options.dir, fileName);
  const ext = path.extname(fileName);
  const stem = fileName.slice(0, fileName.length - ext.length);
  const rotated = (n: number): string => path.join(options.dir, `${stem}.${n}${ext}`);

  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  let size = existsSync(file) ? statSync(file).size : 0;

  const rotate = (): void => {
    rmSync(rotated(maxFiles), { force: true });
    for (let n = maxFiles - 1; n >= 1; n--) if (existsSync(rotated(n))) renameSync(rotated(n), rotated(n + 1));
    if (maxFiles >= 1 && existsSync(file)) renameSync(file, rotated(1));
    else rmSync(file, { force: true });
    size = 0;
  };

  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (levelRank[level] < minRank) return;
    const extra = fields === undefined ? {} : (redact(fields) as Record<string, unknown>);
    const line = `${JSON.stringify({ t: now().toISOString(), level, msg: scrubText(message), ...extra })}\n`;
    const bytes = Buffer.byteLength(line);
    if (size > 0 && size + bytes > maxBytes) rotate();
    try {
      const created = size === 0 && !existsSync(file);
      appendFileSync(file, line, { mode: 0o600 });
      if (created) chmodSync(file, 0o600);
      size += bytes;
    } catch {
      // A full disk or a removed folder must not crash the login client; the line is lost.
    }
  };

  return {
    file,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
