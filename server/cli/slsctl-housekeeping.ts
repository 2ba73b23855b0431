/**
 * `slsctl housekeeping`: deletes expired login transactions, sessions, IB Key nonces, approvals and
 * activations, mobile number verifications, confirmations, auto-restart tokens, old failure counters,
 * SMS budget rows whose hour is over (L4), settled SMS outbox rows past their retention, and
 * cancelled or rejected sharing requests and cancelled device orders audited longer ago than theirs
 * (S3–S5, D6, D8), now (slsd also does it every `housekeepingIntervalMs`).
 *
 * Only rows expired for longer than the grace period go; the audit log is never touched (SPEC N2).
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { SlsConfig } from '../config.ts';
import type { Services } from '../services/index.ts';
import { sweepExpired, totalDeleted } from '../services/housekeeping.ts';

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('a non-negative integer (ms)');
  return n;
}

export function registerHousekeepingCommand(program: Command, open: () => Promise<{ s: Services; config: SlsConfig }>, io: { out(text: string): void }): void {
  program
    .command('housekeeping')
    .description(
      'delete login transactions, sessions, IB Key nonces/approvals/activations, failure counters and SMS budgets expired beyond the grace period, ' +
        'sent SMS older than SLS_SMS_RETENTION_DAYS, and cancelled or rejected sharing requests and cancelled device orders settled longer than SLS_SETTLED_RETENTION_DAYS; never the audit log (SPEC N1, N2, L4)',
    )
    .option('--grace-ms <ms>', 'keep rows this long after they expired (default: the config\'s housekeepingGraceMs, env SLS_HOUSEKEEPING_GRACE_MS, 24 h)', nonNegativeInt)
    .action(async (o: { graceMs?: number }) => {
      const { s, config } = await open();
      const graceMs = o.graceMs ?? config.housekeepingGraceMs;
      // SPEC P2, P5: slsctl has only the embedded outbox, so of the codes an earlier slsd left in clear it
      // masks those of dropped rows; sent ones are left to an slsd with a real gateway (sms/policy.ts).
      const r = await sweepExpired(s.db, s.now(), { graceMs, addressFailureWindowMs: config.addressFailureWindowMs, smsRetentionMs: config.smsRetentionMs, settledRetentionMs: config.settledRetentionMs, maskSmsCodes: s.sms.settledMasking });
      io.out(
        `deleted ${totalDeleted(r)} expired row(s), grace ${graceMs} ms: login transactions ${r.loginTransactions}, sessions ${r.sessions}, ` +
          `IB Key nonces ${r.ibkeyNonces}, IB Key push approvals ${r.ibkeyPushRequests}, IB Key activations ${r.ibkeyActivations}, mobile number verifications ${r.mobileVerifications}, confirmations ${r.confirmations}, restart tokens ${r.restartTokens}, failure counters ${r.failureCounters}, SMS budgets ${r.smsBudgets}; SMS outbox older than ${Math.round(config.smsRetentionMs / 86_400_000)} days ${r.smsOutbox}; ` +
          `settled longer than ${Math.round(config.settledRetentionMs / 86_400_000)} days: sharing requests ${r.sharingRequests}, device orders ${r.deviceOrders}` +
          (r.smsCodesMasked > 0 ? `; SMS codes masked in settled outbox rows from before migration 0016 ${r.smsCodesMasked}` : '') +
          '\n',
      );
    });
}
