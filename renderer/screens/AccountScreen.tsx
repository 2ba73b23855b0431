/**
 * Account security (SPEC C1, C6): withdraw funds with the confirming device's limits shown (W1–W4),
 * devices (D1, D6–D8, T3: order, activate, report lost or broken, return, cancel an order), the
 * online Security Code Card of a temporary passcode (T1, T2), share a device (S1–S6), SLS opt-out/opt-in (O1–O3), mobile number (P1–P5).
 *
 * Every rule is slsd's: this screen shows what the host returns and slsd's own messages ("Less
 * secure device", "Use your Digital Security Card+ …", "Only Jane Doe (jane) …").
 */
import { useCallback, useEffect, useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { ConfirmationChallenge, DevicesOverview, MobileNumberStatus, OnlineCard, OptOutStatus, SharingView, WithdrawalOverview, WithdrawalResponse } from '../../core/account-api.ts';
import type { DscPlusStatus, ErrorText, OfferedFile, SessionView, SlsApi } from '../../core/contract/index.ts';
import { ContractError, describeError } from '../../core/contract/messages.ts';
import { BusyButton, ErrorLine, Spinner, toClientError, useAction } from '../ui.tsx';

type Section = 'withdraw' | 'devices' | 'share' | 'sls' | 'mobile' | 'card';
const SECTIONS: readonly [Section, string][] = [
  ['withdraw', 'Withdraw funds'],
  ['devices', 'Devices'],
  ['share', 'Share a device'],
  ['sls', 'Secure Login System'],
  ['mobile', 'Mobile number'],
];
/** SPEC T1, T2: shown to a user signed in with a temporary passcode (or its online card). */
const CARD_SECTION: [Section, string] = ['card', 'Online code card'];

/** "USD 1,200,000.00"; null is unlimited (W1). */
export function usd(cents: number | null): string {
  if (cents === null) return 'Unlimited';
  return `USD ${Math.floor(cents / 100).toLocaleString('en-US')}.${String(cents % 100).padStart(2, '0')}`;
}

/** Dollars typed by the user ("1,200,000.50") as whole cents, or null. */
export function parseUsd(typed: string): number | null {
  const t = typed.replace(/[,\s]/g, '').replace(/^USD/i, '');
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(t)) return null;
  const [whole, frac = ''] = t.split('.');
  const cents = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  return cents > 0 ? cents : null;
}

/** What to type for a challenge: the code to enter on the device, or the two index numbers. */
function ChallengeBox({ c, onSubmit, busy, label }: { c: ConfirmationChallenge; onSubmit(response: string): void; busy: boolean; label: string }) {
  const id = useId();
  const [response, setResponse] = useState('');
  const ch = c.challenge;
  let prompt: ReactNode;
  if (ch.type === 'response_code') {
    prompt = (
      <p>
        {ch.pinOnDevice ? 'Enter your PIN on the card, then this challenge code: ' : 'Enter this challenge code on your device: '}
        <output className="challenge" aria-label="Challenge code">
          {ch.challenge}
        </output>
      </p>
    );
  } else if (ch.type === 'index_numbers') {
    prompt = (
      <p>
        Type the codes at index numbers{' '}
        <strong className="index-numbers">
          {ch.indexes[0]} and {ch.indexes[1]}
        </strong>{' '}
        of your Security Code Card, without spaces.
      </p>
    );
  } else if (ch.type === 'sms_code') {
    prompt = <p>Type the code sent by SMS to {ch.maskedNumber}.</p>;
  } else if (ch.type === 'passcode') {
    prompt = <p>Type your temporary passcode.</p>;
  } else {
    prompt = <p>Open the IB Key app and type the code it shows for this challenge.</p>;
  }
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onSubmit(response);
      }}
    >
      {prompt}
      <div className="field">
        <label htmlFor={`${id}-r`}>Response</label>
        <input id={`${id}-r`} name="confirm-response" className="code-input" autoComplete="one-time-code" value={response} onChange={(e) => setResponse(e.target.value)} required />
      </div>
      <p>
        <BusyButton busy={busy} busyLabel="Checking…">
          {label}
        </BusyButton>
      </p>
    </form>
  );
}

/** The card's codes when it cannot answer a confirmation (electron/host/dscplus-login.ts). */
const CARD_FALLBACK: Record<string, ErrorText> = {
  SLS_ERR_DSCPLUS_DISCONNECTED: { message: 'The card was unplugged.', action: 'Type the response from the card instead.' },
  SLS_ERR_DSCPLUS_CANCELLED: { message: 'Cancelled on the card.', action: 'Type the response from the card, or send the challenge to the card again.' },
  SLS_ERR_DSCPLUS_TIMEOUT: { message: 'No PIN was entered on the card in time.', action: 'Type the response from the card, or send the challenge to the card again.' },
  SLS_ERR_DSCPLUS_FAILED: { message: 'The card did not answer.', action: 'Type the response from the card instead.' },
  SLS_ERR_DSCPLUS_BLOCKED: { message: 'This card is blocked after 3 wrong PINs.', action: 'Confirm with another device, or call client services.' },
};

/**
 * A plugged-in DSC+ answers a portal confirmation (SPEC C2, H2): the host sends the challenge to the
 * card, the PIN is typed on the card, and the response goes from the host to slsd. Without the card
 * (or when the user would rather type) `onFallback` hands over to the typed response.
 */
function CardConfirmation<T>({ api, answer, onDone, onFallback, onError }: { api: SlsApi; answer(): Promise<T>; onDone(value: T): void; onFallback(reason: ErrorText | null): void; onError(e: unknown): void }) {
  const [status, setStatus] = useState<DscPlusStatus | null>(null);
  const [triesLeft, setTriesLeft] = useState<number | undefined>(undefined);
  useEffect(() => {
    let live = true;
    let heard = false;
    const off = api.on('dscplusStatus', (st) => {
      if (!live) return;
      heard = true;
      setStatus(st);
      if (st.pinTriesLeft !== undefined) setTriesLeft(st.pinTriesLeft);
    });
    answer().then(
      (v) => live && onDone(v),
      (e: unknown) => {
        if (!live) return;
        const code = e instanceof ContractError ? e.error.code : '';
        // Not plugged in at all: straight to typing, nothing went wrong.
        if (code === 'SLS_ERR_DSCPLUS_DISCONNECTED' && !heard) onFallback(null);
        else if (CARD_FALLBACK[code]) onFallback(CARD_FALLBACK[code]);
        else onError(e);
      },
    );
    return () => {
      live = false;
      off();
    };
  }, [api, answer, onDone, onFallback, onError]);
  const state = status?.state;
  const line = state === 'response_received' ? 'Response received — confirming…' : state === 'waiting_for_pin' || state === 'wrong_pin' ? 'Waiting for your PIN on the card…' : 'Sending the challenge to the card…';
  return (
    <div className="dscplus-card">
      <ol className="steps">
        <li>
          Enter your PIN on the card{triesLeft === undefined ? '' : ` (${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left)`}.
        </li>
      </ol>
      {state === 'wrong_pin' ? (
        <p className="error" role="alert">
          <strong>Wrong PIN.</strong> Try again on the card.
        </p>
      ) : null}
      <p className="waiting" role="status">
        <Spinner /> {line}
      </p>
      <p>
        <button type="button" className="link" onClick={() => void api.cancelCardConfirmation().catch(() => {})}>
          Type the response instead
        </button>
      </p>
    </div>
  );
}

/** SPEC C2: a confirmation a plugged-in DSC+ answers first (PIN on the card); typing is the fallback. */
function useCardFirst(setError: (e: ErrorText | null) => void) {
  const [onCard, setOnCard] = useState(false);
  const [cardLine, setCardLine] = useState<ErrorText | null>(null);
  /** A new challenge: to the card if it is a DSC+'s. */
  const begin = useCallback((c: ConfirmationChallenge) => {
    setCardLine(null);
    setOnCard(isCardChallenge(c));
  }, []);
  const fallback = useCallback((reason: ErrorText | null) => {
    setOnCard(false);
    setCardLine(reason);
  }, []);
  const failed = useCallback(
    (e: unknown) => {
      setOnCard(false);
      setError(describeError(toClientError(e)));
    },
    [setError],
  );
  const again = useCallback(() => {
    setCardLine(null);
    setOnCard(true);
  }, []);
  return { onCard, setOnCard, cardLine, begin, fallback, failed, again };
}

const isCardChallenge = (c: ConfirmationChallenge) => c.challenge.type === 'response_code' && c.challenge.kind === 'dscplus';

/** The typed response after the card gave way: why (if it did), the challenge box, and sending it to the card again. */
function TypedAfterCard({ c, line, onAgain, children }: { c: ConfirmationChallenge; line: ErrorText | null; onAgain(): void; children: ReactNode }) {
  return (
    <>
      {line ? (
        <p className="notice" role="status">
          {line.message} {line.action}
        </p>
      ) : null}
      {children}
      {line && isCardChallenge(c) && line !== CARD_FALLBACK.SLS_ERR_DSCPLUS_BLOCKED ? (
        <p>
          <button type="button" className="link" onClick={onAgain}>
            Send the challenge to the card again
          </button>
        </p>
      ) : null}
    </>
  );
}

function WithdrawPanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run, setError } = useAction();
  const [overview, setOverview] = useState<WithdrawalOverview | null>(null);
  const [amount, setAmount] = useState('');
  const [deviceId, setDeviceId] = useState('');
  const [pending, setPending] = useState<{ c: ConfirmationChallenge; amountCents: number } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // SPEC C2: a DSC+ challenge goes to the card first; typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(setError);

  const load = useCallback(async () => {
    const o = await run(() => api.getWithdrawals());
    if (o) {
      setOverview(o);
      setDeviceId((d) => d || o.devices[0]?.deviceId || '');
    }
  }, [api, run]);
  useEffect(() => {
    void load();
  }, [load]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const amountCents = parseUsd(amount);
    if (amountCents === null) {
      setError({ message: 'Enter an amount in USD, e.g. 250000 or 1,250.50.', action: '' });
      return;
    }
    const c = await run(() => api.startWithdrawal({ deviceId, amountCents }));
    if (c) {
      setPending({ c, amountCents });
      begin(c);
    }
  };
  const confirmed = useCallback(
    (r: WithdrawalResponse) => {
      setPending(null);
      setOnCard(false);
      setDone(`Withdrawal of ${usd(r.withdrawal.amountCents)} confirmed with ${r.withdrawal.confirmedWith.label}.`);
      setAmount('');
      void load();
    },
    [load, setOnCard],
  );
  const answerOnCard = useCallback(
    () => (pending ? api.confirmWithdrawalOnCard({ confirmationId: pending.c.confirmationId, amountCents: pending.amountCents }) : Promise.reject(new Error('no confirmation'))),
    [api, pending],
  );
  const confirm = async (response: string) => {
    if (!pending) return;
    const r = await run(() => api.confirmWithdrawal({ confirmationId: pending.c.confirmationId, amountCents: pending.amountCents, response }));
    if (r) confirmed(r);
  };

  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Withdraw funds</h2>
      <p className="hint">The device that confirms a withdrawal sets its limits; the windows count all your withdrawals (New York days).</p>
      {overview ? (
        <table className="limits">
          <caption>Limits of your devices</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Per day</th>
              <th scope="col">Five business days</th>
              <th scope="col">Available now</th>
            </tr>
          </thead>
          <tbody>
            {overview.devices.map((d) => (
              <tr key={d.deviceId}>
                <th scope="row">{d.label}</th>
                <td>{usd(d.perDayCents)}</td>
                <td>{usd(d.perFiveBusinessDaysCents)}</td>
                <td>{usd(d.availableNowCents)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {pending && onCard ? (
        <CardConfirmation key={pending.c.confirmationId} api={api} answer={answerOnCard} onDone={confirmed} onFallback={cardFallback} onError={cardError} />
      ) : pending ? (
        <TypedAfterCard c={pending.c} line={cardLine} onAgain={again}>
          <ChallengeBox key={pending.c.confirmationId} c={pending.c} busy={busy} label="Confirm withdrawal" onSubmit={(r) => void confirm(r)} />
        </TypedAfterCard>
      ) : (
        <form onSubmit={(e) => void start(e)}>
          <div className="field">
            <label htmlFor={`${id}-a`}>Amount (USD)</label>
            <input id={`${id}-a`} name="amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-d`}>Confirm with</label>
            <select id={`${id}-d`} name="device" value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
              {overview?.devices.map((d) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label}
                </option>
              ))}
            </select>
          </div>
          <p>
            <BusyButton busy={busy} busyLabel="Asking…">
              Continue
            </BusyButton>
          </p>
        </form>
      )}
      {pending ? (
        <p>
          <button type="button" className="link" onClick={() => (onCard ? void api.cancelCardConfirmation().catch(() => {}) : undefined, setOnCard(false), setPending(null))}>
            Use another device
          </button>
        </p>
      ) : null}
      <ErrorLine error={error} />
      {done ? (
        <p role="status" className="info">
          {done}
        </p>
      ) : null}
    </section>
  );
}

const STATUS_WORDS: Record<string, string> = {
  active: 'active',
  inactive: 'inactive (set aside)',
  pending: 'waiting for activation',
  lost: 'reported lost',
  revoked: 'deactivated',
  returned: 'returned',
  expired: 'expired',
};

const ORDER_WORDS: Record<string, string> = { ordered: 'ordered, not yet sent', sent: 'sent', activated: 'activated', cancelled: 'cancelled' };

/** A lost or broken device (SPEC D8): deactivated at once; a DSC+ may be replaced (USD 20 deposit recorded). */
function ReportForm({ device, busy, onReport, onCancel }: { device: DeviceInfo; busy: boolean; onReport(reason: 'lost' | 'broken', replace: boolean): void; onCancel(): void }) {
  const id = useId();
  const [reason, setReason] = useState<'lost' | 'broken'>('lost');
  const [replace, setReplace] = useState(device.kind === 'dscplus');
  return (
    <form
      className="inline-form"
      aria-labelledby={`${id}-h`}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onReport(reason, replace);
      }}
    >
      <h3 id={`${id}-h`}>Report {device.label}</h3>
      <fieldset className="choices">
        <legend>What happened?</legend>
        <label>
          <input type="radio" name="report-reason" value="lost" checked={reason === 'lost'} onChange={() => setReason('lost')} /> Lost
        </label>
        <label>
          <input type="radio" name="report-reason" value="broken" checked={reason === 'broken'} onChange={() => setReason('broken')} /> Broken
        </label>
      </fieldset>
      {device.kind === 'dscplus' ? (
        <label className="check">
          <input type="checkbox" name="replace" checked={replace} onChange={(e) => setReplace(e.target.checked)} /> Send me a replacement Digital Security Card+ (a deposit of USD 20.00 is recorded on
          the account)
        </label>
      ) : null}
      <p className="hint">The device stops working at once.</p>
      <p className="actions">
        <BusyButton busy={busy} busyLabel="Reporting…">
          Report and deactivate
        </BusyButton>
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </p>
    </form>
  );
}

/** SPEC D6, T3: a received device is activated with its serial and a response to a challenge on it. */
function ActivateForm({ api, onActivated }: { api: SlsApi; onActivated(label: string): void }) {
  const id = useId();
  const { busy, error, run, setError } = useAction();
  const [serial, setSerial] = useState('');
  const [challenge, setChallenge] = useState<ConfirmationChallenge | null>(null);
  // SPEC C2: a DSC+ plugged in answers its own activation challenge (PIN on the card); typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(setError);
  const activated = useCallback(
    (d: { label: string }) => {
      setChallenge(null);
      setOnCard(false);
      setSerial('');
      onActivated(d.label);
    },
    [onActivated, setOnCard],
  );
  const answerOnCard = useCallback(
    () => (challenge ? api.completeDeviceActivationOnCard({ confirmationId: challenge.confirmationId }) : Promise.reject(new Error('no activation'))),
    [api, challenge],
  );
  const other = () => {
    if (onCard) void api.cancelCardConfirmation().catch(() => {});
    setOnCard(false);
    setChallenge(null);
  };
  return (
    <section aria-labelledby={`${id}-h`} className="subsection">
      <h3 id={`${id}-h`}>Activate a device you received</h3>
      {challenge ? (
        <>
          {onCard ? (
            <CardConfirmation key={challenge.confirmationId} api={api} answer={answerOnCard} onDone={activated} onFallback={cardFallback} onError={cardError} />
          ) : (
            <TypedAfterCard c={challenge} line={cardLine} onAgain={again}>
              <ChallengeBox
                key={challenge.confirmationId}
                c={challenge}
                busy={busy}
                label="Activate"
                onSubmit={(response) =>
                  void run(() => api.completeDeviceActivation({ confirmationId: challenge.confirmationId, response })).then((d) => {
                    if (d) activated(d);
                  })
                }
              />
            </TypedAfterCard>
          )}
          <p>
            <button type="button" className="link" onClick={other}>
              Use another serial number
            </button>
          </p>
        </>
      ) : (
        <form
          onSubmit={(e: FormEvent) => (
            e.preventDefault(),
            void run(() => api.startDeviceActivation({ serial })).then((c) => {
              if (!c) return;
              begin(c);
              setChallenge(c);
            })
          )}
        >
          <p className="hint">A new device activates itself 14 days after it was sent; activate it now with its serial number (on its back) and a response.</p>
          <div className="field">
            <label htmlFor={`${id}-s`}>Serial number</label>
            <input id={`${id}-s`} name="serial" autoComplete="off" inputMode="numeric" value={serial} onChange={(e) => setSerial(e.target.value)} required minLength={4} maxLength={32} />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel="Asking…">
              Continue
            </BusyButton>
          </p>
        </form>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

type DeviceInfo = DevicesOverview['devices'][number];

function DevicesPanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [overview, setOverview] = useState<DevicesOverview | null>(null);
  const [reporting, setReporting] = useState<DeviceInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = useCallback(async () => {
    const o = await run(() => api.getDevices());
    if (o) setOverview(o);
  }, [api, run]);
  useEffect(() => {
    void load();
  }, [load]);
  const after = (message: string) => {
    setDone(message);
    void load();
  };
  const report = async (device: DeviceInfo, reason: 'lost' | 'broken', replace: boolean) => {
    const r = await run(() => api.reportDevice({ deviceId: device.id, reason, replace }));
    if (!r) return;
    setReporting(null);
    after(
      `${device.label} is reported ${reason} and deactivated.` +
        (r.replacement ? ` A replacement Digital Security Card+ is ordered; a deposit of ${usd(r.replacement.depositCents)} is recorded on your account.` : ''),
    );
  };
  const canChange = (d: DeviceInfo) => d.ownership === 'own' && d.physical && ['active', 'inactive', 'pending'].includes(d.status);
  // One DSC+ on its way at a time: ordered or sent, new or replacement.
  const pendingOrder = overview?.orders.some((o) => o.state === 'ordered' || o.state === 'sent') ?? false;
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Devices</h2>
      <p className="hint">All your active devices work at the same time (M2FS); activating another keeps the others.</p>
      <ul className="device-list">
        {overview?.devices.map((d) => (
          <li key={d.id}>
            {d.label} — <span className={d.status === 'active' ? '' : 'muted'}>{STATUS_WORDS[d.status] ?? d.status}</span>
            {d.legacy ? <span className="muted"> (legacy, no longer issued)</span> : null}
            {d.ownership === 'shared' ? <span className="muted"> (shared with you)</span> : null}
            {canChange(d) && reporting?.id !== d.id ? (
              <span className="row-actions">
                <button type="button" className="link" aria-label={`Report ${d.label} lost or broken`} disabled={busy} onClick={() => (setDone(null), setReporting(d))}>
                  Report lost or broken
                </button>
                <button
                  type="button"
                  className="link"
                  aria-label={`Return ${d.label}`}
                  disabled={busy}
                  onClick={() => void run(() => api.returnDevice({ deviceId: d.id })).then((r) => r && after(`${d.label} is marked as returned.`))}
                >
                  Return
                </button>
              </span>
            ) : null}
          </li>
        ))}
      </ul>
      {reporting ? <ReportForm device={reporting} busy={busy} onCancel={() => setReporting(null)} onReport={(reason, replace) => void report(reporting, reason, replace)} /> : null}
      {overview && overview.orders.length > 0 ? (
        <table className="limits">
          <caption>Orders</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">State</th>
              <th scope="col">Deposit</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {overview.orders.map((o) => (
              <tr key={o.id}>
                <th scope="row">{o.reason === 'replacement' ? 'Replacement DSC+' : 'Digital Security Card+'}</th>
                <td>
                  {ORDER_WORDS[o.state] ?? o.state}
                  {o.state === 'sent' && o.selfActivatesAt ? `; activates itself on ${new Date(o.selfActivatesAt).toLocaleDateString('en-US')}` : ''}
                </td>
                <td>{o.depositCents > 0 ? usd(o.depositCents) : '—'}</td>
                <td>
                  {o.state === 'ordered' ? (
                    <button
                      type="button"
                      className="link"
                      aria-label={`Cancel the order of ${o.reason === 'replacement' ? 'a replacement DSC+' : 'a Digital Security Card+'}`}
                      disabled={busy}
                      onClick={() => void run(() => api.cancelDeviceOrder({ orderId: o.id })).then((r) => r && after('The order is cancelled.'))}
                    >
                      Cancel order
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {overview && !pendingOrder ? (
        overview.dscPlus.eligible ? (
          <p>
            <button type="button" className="secondary-button" disabled={busy} onClick={() => void run(() => api.orderDscPlus()).then((o) => o && after('Your Digital Security Card+ has been ordered.'))}>
              Request a Digital Security Card+
            </button>
          </p>
        ) : (
          <p className="notice">{overview.dscPlus.reason}</p>
        )
      ) : null}
      {done ? (
        <p role="status" className="info">
          {done}
        </p>
      ) : null}
      <ErrorLine error={error} />
      <ActivateForm api={api} onActivated={(label) => after(`${label} is active. Your other devices stay active.`)} />
    </section>
  );
}

/** SPEC T1, T2: the online Security Code Card of a temporary passcode, to view and print. */
function OnlineCardPanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [card, setCard] = useState<OnlineCard | null>(null);
  const [file, setFile] = useState<OfferedFile | null>(null);
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Online Security Code Card</h2>
      <p className="hint">It comes with your temporary passcode and works like a Security Code Card for 21 days: at login you type the codes at the two index numbers asked.</p>
      {card ? (
        <>
          <p>Valid until {new Date(card.validUntil).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' })}.</p>
          <ol className="code-card" aria-label="Codes by index number">
            {card.cells.map((code, i) => (
              <li key={i}>
                <span className="idx">{i + 1}</span> <code>{code}</code>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p>
          <button type="button" className="primary" disabled={busy} onClick={() => void run(() => api.getOnlineCard()).then((c) => c && setCard(c))}>
            View the card
          </button>
        </p>
      )}
      <p>
        <button type="button" className="secondary-button" disabled={busy} onClick={() => void run(() => api.downloadOnlineCard()).then((f) => f && setFile(f))}>
          Print or save as PDF
        </button>
      </p>
      {file?.url ? (
        <p role="status" className="info">
          <a href={file.url} target="_blank" rel="noopener noreferrer">
            Open the PDF to print
          </a>{' '}
          ·{' '}
          <a href={file.url} download={file.fileName}>
            Save {file.fileName}
          </a>
        </p>
      ) : null}
      {file?.savedTo ? (
        <p role="status" className="info">
          Saved to {file.savedTo}. It opens in your PDF viewer to print.
        </p>
      ) : null}
      <ErrorLine error={error} />
    </section>
  );
}

function SharePanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run, setError } = useAction();
  const [owner, setOwner] = useState('');
  const [password, setPassword] = useState('');
  const [started, setStarted] = useState<{ requestId: string; c: ConfirmationChallenge; request: SharingView } | null>(null);
  const [review, setReview] = useState<SharingView | null>(null);
  const [result, setResult] = useState<SharingView | null>(null);
  // SPEC S3, C2: the owner's DSC+, plugged in here, answers first (PIN on the card); typing is the fallback.
  const { onCard, setOnCard, cardLine, begin, fallback: cardFallback, failed: cardError, again } = useCardFirst(setError);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    const r = await run(() => api.startSharing({ ownerUsername: owner, ownerPassword: password }));
    setPassword('');
    if (r) {
      setStarted({ requestId: r.request.id, c: r.confirmation, request: r.request });
      begin(r.confirmation);
    }
  };
  const verified = useCallback(
    (v: SharingView) => {
      setOnCard(false);
      setReview(v);
    },
    [setOnCard],
  );
  const answerOnCard = useCallback(
    () => (started ? api.answerSharingOnCard({ requestId: started.requestId, confirmationId: started.c.confirmationId }) : Promise.reject(new Error('no sharing request'))),
    [api, started],
  );
  const startOver = () => {
    if (onCard) void api.cancelCardConfirmation().catch(() => {});
    setOnCard(false);
    setStarted(null);
    setError(null);
  };
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Share a device</h2>
      {result ? (
        <p role="status" className="info">
          {result.state === 'approved'
            ? `You now use ${result.owner.displayName}'s ${result.device.label}. Your own physical devices are set aside (inactive).`
            : 'Your request waits for the approval of our Compliance department.'}
        </p>
      ) : review ? (
        <>
          <p>
            Share {review.owner.displayName}'s {review.device.label}. {review.requesterDevices.length > 0 ? `Your own ${review.requesterDevices.map((d) => d.label).join(', ')} will be set aside.` : ''}
          </p>
          <p>
            <button type="button" className="primary" disabled={busy} onClick={() => void run(() => api.submitSharing({ requestId: review.id })).then((r) => r && setResult(r))}>
              Submit
            </button>
          </p>
        </>
      ) : started ? (
        <>
          <p className="hint">
            Answer with {started.request.owner.displayName}'s {started.request.device.label}.
          </p>
          {onCard ? (
            <CardConfirmation key={started.c.confirmationId} api={api} answer={answerOnCard} onDone={verified} onFallback={cardFallback} onError={cardError} />
          ) : (
            <TypedAfterCard c={started.c} line={cardLine} onAgain={again}>
              <ChallengeBox
                key={started.c.confirmationId}
                c={started.c}
                busy={busy}
                label="Continue"
                onSubmit={(response) => void run(() => api.answerSharing({ requestId: started.requestId, confirmationId: started.c.confirmationId, response })).then((r) => r && verified(r))}
              />
            </TypedAfterCard>
          )}
          <p>
            <button type="button" className="link" onClick={startOver}>
              Start over
            </button>
          </p>
        </>
      ) : (
        <form onSubmit={(e) => void start(e)}>
          <p className="hint">Enter the user name and password of the user who owns the most secure device. IB Key users add each other in the IB Key app instead.</p>
          <div className="field">
            <label htmlFor={`${id}-u`}>Device owner's user name</label>
            <input id={`${id}-u`} name="owner-username" autoComplete="off" value={owner} onChange={(e) => setOwner(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${id}-p`}>Device owner's password</label>
            <input id={`${id}-p`} name="owner-password" type="password" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel="Checking…">
              Continue
            </BusyButton>
          </p>
        </form>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

function SlsPanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [status, setStatus] = useState<OptOutStatus | null>(null);
  useEffect(() => {
    void run(() => api.getOptOut()).then((s) => s && setStatus(s));
  }, [api, run]);
  const who = status?.primaryUser ? `${status.primaryUser.displayName} (${status.primaryUser.username})` : "the account's primary user";
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Secure Login System</h2>
      {status ? (
        <>
          <p>
            {status.optedOut
              ? 'You are opted out: the trading platform does not ask for your security device. Pink Sheet and OTCBB trading is restricted.'
              : 'You always use your Secure Login Device when logging in.'}
          </p>
          {!status.canChange ? (
            <p className="notice">
              Only {who}, the account's primary user, can {status.optedOut ? 'opt you back in' : 'change this setting'}.
            </p>
          ) : null}
          <p>
            {status.optedOut ? (
              <button type="button" className="primary" disabled={busy} onClick={() => void run(() => api.optIn()).then((s) => s && setStatus(s))}>
                I want to always use my Secure Login Device when logging in
              </button>
            ) : (
              <button type="button" className="secondary-button" disabled={busy} onClick={() => void run(() => api.optOut()).then((s) => s && setStatus(s))}>
                Opt out for trading-platform login
              </button>
            )}
          </p>
        </>
      ) : null}
      <ErrorLine error={error} />
    </section>
  );
}

function MobilePanel({ api }: { api: SlsApi }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [status, setStatus] = useState<MobileNumberStatus | null>(null);
  const [number, setNumber] = useState('');
  const [code, setCode] = useState('');
  useEffect(() => {
    void run(() => api.getMobileNumber()).then((s) => s && setStatus(s));
  }, [api, run]);
  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Mobile number</h2>
      {status ? <p>{status.number ? `${status.number} — ${status.verified ? 'verified' : 'not verified'}` : 'No mobile number yet. Trading is restricted until you verify one.'}</p> : null}
      {status?.pending ? (
        <form onSubmit={(e) => (e.preventDefault(), void run(() => api.verifyMobileNumber({ code })).then((s) => s && (setStatus(s), setCode(''))))}>
          <p>
            {status.pending.deferred
              ? `Your carrier delivers text messages later: the code reaches ${status.pending.maskedNumber} at ${new Date(status.pending.deliverAt).toLocaleString()}.`
              : `We sent a code to ${status.pending.maskedNumber}.`}
          </p>
          <div className="field">
            <label htmlFor={`${id}-c`}>Confirmation code</label>
            <input id={`${id}-c`} name="sms-code" className="code-input" inputMode="numeric" value={code} onChange={(e) => setCode(e.target.value)} required />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel="Checking…">
              Verify
            </BusyButton>
          </p>
        </form>
      ) : (
        <form onSubmit={(e) => (e.preventDefault(), void run(() => api.setMobileNumber({ number })).then((s) => s && setStatus(s)))}>
          <div className="field">
            <label htmlFor={`${id}-n`}>Mobile number (international form)</label>
            <input id={`${id}-n`} name="mobile-number" type="tel" autoComplete="tel" value={number} onChange={(e) => setNumber(e.target.value)} required />
          </div>
          <p>
            <BusyButton busy={busy} busyLabel="Sending…">
              Send code
            </BusyButton>
          </p>
        </form>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

export function AccountScreen({ api, session, onBack, footer, notice }: { api: SlsApi; session: SessionView; onBack(): void; footer: ReactNode; notice?: ReactNode }) {
  const id = useId();
  const temporary = session.access === 'portal_only' || session.authenticatedWith?.kind === 'temp_passcode' || session.authenticatedWith?.kind === 'online_scc';
  const sections = temporary ? [CARD_SECTION, ...SECTIONS] : SECTIONS;
  const [section, setSection] = useState<Section>(temporary ? 'card' : 'withdraw');
  return (
    <main className="screen shell" aria-labelledby={`${id}-t`}>
      <header className="brand">
        <h1 id={`${id}-t`}>
          <span className="logo" aria-hidden="true">SLS</span> Account security
        </h1>
      </header>
      {/* SPEC C5: the polite notice before the session ends. */}
      {notice}
      <p className="hint">
        {session.user.displayName} ({session.user.username}){session.account ? ` — account ${session.account.number}` : ''}
      </p>
      <nav aria-label="Account security" className="section-tabs">
        {sections.map(([key, label]) => (
          <button key={key} type="button" className={section === key ? 'primary' : 'secondary-button'} aria-pressed={section === key} onClick={() => setSection(key)}>
            {label}
          </button>
        ))}
      </nav>
      {section === 'withdraw' ? <WithdrawPanel api={api} /> : null}
      {section === 'devices' ? <DevicesPanel api={api} /> : null}
      {section === 'share' ? <SharePanel api={api} /> : null}
      {section === 'sls' ? <SlsPanel api={api} /> : null}
      {section === 'mobile' ? <MobilePanel api={api} /> : null}
      {section === 'card' ? <OnlineCardPanel api={api} /> : null}
      <p>
        <button type="button" className="link" onClick={onBack}>
          Back
        </button>
      </p>
      <footer className="footer">
        <span />
        {footer}
      </footer>
    </main>
  );
}
