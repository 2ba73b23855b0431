/**
 * All of slsd's services, wired from a config: what routes, slsctl and tests use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { SlsConfig } from '../config.ts';
import { makeFolder } from '../folders.ts';
import { loadServerKey, SecretBox } from '../crypto/secret-box.ts';
import { openDatabase } from '../db/connect.ts';
import { checkServerKey, ServerKeyMismatch } from './server-key.ts';
import type { OpenDatabase } from '../db/connect.ts';
import { OutboxGateway } from '../sms/gateway.ts';
import type { SmsGateway } from '../sms/gateway.ts';
import { SmsPolicyGateway } from '../sms/policy.ts';
import { appendAudit } from './audit.ts';
import type { AuditEntry } from './audit.ts';
import { LoginService } from './login.ts';
import { IbKeyService } from './ibkey.ts';
import { passwordHasher } from './passwords.ts';
import type { PasswordHasher } from './passwords.ts';
import { SessionService } from './sessions.ts';
import { Throttle } from './throttle.ts';
import { startRefused } from '../start-refused.ts';

export interface ServiceOptions {
  /** The clock, epoch ms; tests inject one to cross 24 h (SPEC L6). */
  readonly now?: () => number;
  readonly smsGateway?: SmsGateway;
  readonly passwords?: PasswordHasher;
  /** SQLite file: checkpoint the write-ahead log on a worker thread (db/checkpointer.ts). slsd's server does. */
  readonly backgroundCheckpoints?: boolean;
  /** Hears why background checkpoints stopped, if they do (they then run inside commits, as before). */
  readonly onCheckpointFailure?: (reason: string) => void;
  /**
   * slsctl: open what slsd made, make nothing. No data folder made, no server key generated: a
   * missing one is refused, saying where slsctl looked (SPEC D4: only slsd creates the key, loudly).
   */
  readonly existingOnly?: boolean;
}

export interface Services {
  readonly config: SlsConfig;
  readonly database: OpenDatabase;
  readonly db: OpenDatabase['db'];
  readonly box: SecretBox;
  readonly now: () => number;
  readonly passwords: PasswordHasher;
  /** The configured gateway behind the P2 policy (server/sms/policy.ts). */
  readonly sms: SmsPolicyGateway;
  readonly throttle: Throttle;
  readonly sessions: SessionService;
  readonly login: LoginService;
  /** IB Key: activation, recovery, push approval, app messages (SPEC K1–K8, L7). */
  readonly ibkey: IbKeyService;
  readonly version: string;
  /** Things an operator must hear about at start (generated key, benchmark-only hashing). */
  readonly warnings: readonly string[];
  audit(entry: AuditEntry): Promise<void>;
  close(): Promise<void>;
}

/** SLS's version (package.json): slsd and slsctl `--version`, GET /v1/health. */
export const packageVersion = (): string => {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
  return pkg.version ?? '0.0.0';
};

/** A data folder that cannot be made: said plainly (slsd's and slsctl's start), not a stack. */
function dataFolderRefused(dir: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EEXIST' ? 'a file of that name is in the way'
    : code === 'ENOTDIR' ? 'part of the path is a file, not a folder'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EROFS' ? 'the file system is read-only'
    : code === 'ENOSPC' ? 'the disk is full'
    : code === 'ENOENT' ? 'that file system makes no folders there (/proc, /sys)'
    : null;
  return why === null ? (err as Error) : startRefused(`the data folder ${dir} cannot be made: ${why} (SLS_DATA_DIR / --data-dir)`);
}

export async function createServices(config: SlsConfig, opts: ServiceOptions = {}): Promise<Services> {
  const warnings: string[] = [];
  if (opts.existingOnly) {
    // slsctl: slsd's key, from where slsd reads it; nothing is made here.
    if (config.serverKey === undefined && !fs.existsSync(path.join(config.dataDir, 'server.key'))) {
      throw startRefused(
        `no server key: neither SLS_SERVER_KEY / SLS_SERVER_KEY_FILE nor ${path.join(config.dataDir, 'server.key')}. ` +
          'Give slsctl the key slsd runs with (the same variables, or --data-dir of slsd\'s data folder); slsctl never makes one',
      );
    }
  } else {
    // The data folder holds the server key and device files: owner only.
    try {
      makeFolder(config.dataDir, 0o700);
    } catch (err) {
      throw dataFolderRefused(config.dataDir, err);
    }
  }
  const key = loadServerKey(config.dataDir, config.serverKey);
  if (key.source === 'generated') {
    warnings.push(
      `A NEW SERVER KEY was generated in ${key.file}. It encrypts every device secret (SPEC D4): back it up, ` +
        'and in production set SLS_SERVER_KEY from a secret store instead. Losing it makes every device unusable.',
    );
  }
  if (config.passwordHashing !== 'argon2id') {
    warnings.push('PASSWORD HASHING IS A NO-OP (noop-benchmark-only). This is for `npm run bench:login` only: NEVER run real users like this.');
  }
  const database = await openDatabase(config.databaseUrl, {
    pgPoolMax: config.databasePoolMax,
    ...(opts.backgroundCheckpoints ? { backgroundCheckpoints: true } : {}),
    ...(opts.onCheckpointFailure ? { onCheckpointFailure: opts.onCheckpointFailure } : {}),
  });
  const now = opts.now ?? Date.now;
  const db = database.db;
  const box = new SecretBox(key.key);
  // SPEC D4: never run with a key that cannot open the database's secrets (services/server-key.ts).
  try {
    await checkServerKey(db, box, key.source === 'env' ? 'SLS_SERVER_KEY or SLS_SERVER_KEY_FILE' : key.source === 'file' ? key.file! : `none was found, so a new one was generated in ${key.file!}`);
  } catch (e) {
    await database.close();
    // A key generated just now sealed nothing: leave no wrong key behind for the next start to pick up.
    if (e instanceof ServerKeyMismatch && key.source === 'generated') fs.rmSync(key.file!, { force: true });
    throw e;
  }
  const passwords = opts.passwords ?? passwordHasher(config.passwordHashing, config.argon2);
  // SPEC P2, P5, L4: every SMS passes the do-not-call list, the carrier hours and the number's budget before the gateway.
  // The box seals the body of an SMS held for the carrier's hours (a code at rest, D4).
  const sms = new SmsPolicyGateway(opts.smsGateway ?? new OutboxGateway(db, now), db, box, now, { carrierHours: config.smsCarrierHours, budgetPerHour: config.smsBudgetPerHour });
  const throttle = new Throttle(db, config, now);
  const sessions = new SessionService(db, now, config.sessionTtlMs);
  const login = new LoginService({ db, box, config, sms, now, passwords, throttle, sessions });
  // SPEC N1: on PostgreSQL, LISTEN/NOTIFY wakes IB Key long-polls across slsd processes.
  // Loaded only there: pg costs a SQLite slsd ~10 MB resident for nothing (issue 7).
  const ibkeyNotifier = database.dialect === 'postgres' ? await (await import('./ibkey-notifier-pg.ts')).PgApprovalNotifier.connect(config.databaseUrl) : undefined;
  const ibkey = new IbKeyService({ db, box, config, sms, now, passwords, throttle, login }, ibkeyNotifier);
  return {
    config,
    database,
    db,
    box,
    now,
    passwords,
    sms,
    throttle,
    sessions,
    login,
    ibkey,
    version: packageVersion(),
    warnings,
    audit: (entry) => appendAudit(db, now(), entry),
    close: async () => {
      await ibkeyNotifier?.close();
      await database.close();
    },
  };
}
