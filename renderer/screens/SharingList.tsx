/**
 * The sharing requests a user is part of, under "Share a device" (SPEC S3–S5), each with what it is
 * at and what moves it on. slsd's GET /v1/sharing answers every request of both parties in every state
 * (its 50 most recent), an ended one with what ended it and when.
 *
 * - As the REQUESTER (using another user's device, own devices set aside), the requests still open:
 *   started (the owner's device has not answered: Continue, back to its challenge, or to the owner's
 *   password for a new one), verified (answered: Submit, approved at once or sent to Compliance, S4),
 *   waiting for Compliance, approved (in use); each can be withdrawn, an approved one ended (S5).
 * - As the OWNER (someone uses, or asks to use, my device): the open requests for it, in every state;
 *   the owner may refuse one not yet approved, or end an approved one.
 * - Ended requests, for both, in plain words: who or what ended it (the other user refused, withdrew or
 *   ended it; Compliance rejected it; the device was reported, returned or is out of use) and when, for
 *   `ENDED_SHOWN_MS` (7 days), while it is its requester's latest request. Not those the reader ended
 *   themselves (they were told then), nor one replaced by its requester's new request.
 * Ending an approved sharing asks first, saying what it means, and says so when the session these
 * screens use was opened with the shared device: slsd ends that session too. A request not yet
 * approved changed nothing: withdrawing or refusing it goes at once.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConfirmationChallenge, SharingEndReason, SharingView } from '../../core/account-api.ts';
import type { SlsApi } from '../../core/contract/index.ts';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import { deviceLabel } from '../devices.ts';
import { locale } from '../i18n/index.ts';
import { ErrorLine, useAction } from '../ui.tsx';
import type { Notice } from '../ui.tsx';
import { ConfirmBox } from './confirm-box.tsx';

type State = SharingView['state'];
/** SPEC S3–S5: the states of a request still open (slsd: one open per requester at a time). */
type OpenState = Extract<State, 'started' | 'verified' | 'pending_compliance' | 'approved'>;

/** What a row lets this user do: move the request on, withdraw or refuse it, or end the sharing. */
export type SharingAction = 'continue' | 'submit' | 'withdraw' | 'refuse' | 'end';

/** SPEC S3–S5, server/routes/account.ts: answer (started), submit (verified), cancel (any open state, by either party). */
const REQUESTER_ACTIONS: Readonly<Record<OpenState, readonly SharingAction[]>> = {
  started: ['continue', 'withdraw'],
  verified: ['submit', 'withdraw'],
  pending_compliance: ['withdraw'],
  approved: ['end'],
};
const OWNER_ACTIONS: Readonly<Record<OpenState, readonly SharingAction[]>> = {
  started: ['refuse'],
  verified: ['refuse'],
  pending_compliance: ['refuse'],
  approved: ['end'],
};

const OPEN: readonly State[] = ['started', 'verified', 'pending_compliance', 'approved'];
const isOpen = (state: State): state is OpenState => OPEN.includes(state);
/** SPEC S4, S5: waiting for Compliance or in effect: no new request until it ends (slsd refuses one). */
const HELD: readonly State[] = ['pending_compliance', 'approved'];

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * How long an ended request stays listed (SPEC S3–S5): long enough for a trader who opens the client
 * every morning to read that the owner refused, or Compliance rejected, over a long weekend and a day
 * off; short enough that the list is about what is going on. slsd keeps them a year.
 */
export const ENDED_SHOWN_MS = 7 * 24 * 60 * 60 * 1000;

/** What ended a request, when the reader did not do it themselves: said to the requester (mine) or to the owner. */
const TOLD_REQUESTER: readonly SharingEndReason[] = ['refused_by_owner', 'ended_by_owner', 'rejected_by_compliance', 'device_reported', 'device_returned', 'device_set_aside', 'device_unavailable'];
const TOLD_OWNER: readonly SharingEndReason[] = ['withdrawn', 'ended_by_requester', 'rejected_by_compliance', 'device_reported', 'device_returned', 'device_set_aside', 'device_unavailable'];

export interface SharingRow {
  readonly request: SharingView;
  /** The signed-in user made the request (else the request is for their device). */
  readonly mine: boolean;
  readonly actions: readonly SharingAction[];
}

/**
 * The rows of the list for `username`, in slsd's order (most recent first): every open request they
 * are part of, with its actions, and the ended ones still worth saying (no action): ended by the other
 * user, Compliance or the device, within `ENDED_SHOWN_MS` of `now`, and the latest request of its
 * requester (one followed by another is history). From an older slsd, which does not say what ended a
 * request: only the requester's latest request if Compliance rejected it.
 */
export function sharingRows(all: readonly SharingView[], username: string, now: number = Date.now()): SharingRow[] {
  const latest = new Map<string, SharingView>();
  for (const r of all) {
    const key = r.requester.username.toLowerCase();
    const seen = latest.get(key);
    if (!seen || r.createdAt > seen.createdAt) latest.set(key, r);
  }
  return all.flatMap((r): SharingRow[] => {
    const mine = same(r.requester.username, username);
    if (!mine && !same(r.owner.username, username)) return [];
    if (isOpen(r.state)) return [{ request: r, mine, actions: (mine ? REQUESTER_ACTIONS : OWNER_ACTIONS)[r.state] }];
    if (latest.get(r.requester.username.toLowerCase()) !== r) return [];
    if (!r.ended) return mine && r.state === 'rejected' ? [{ request: r, mine, actions: [] }] : [];
    const told = (mine ? TOLD_REQUESTER : TOLD_OWNER).includes(r.ended.reason);
    const recent = now - Date.parse(r.ended.at) <= ENDED_SHOWN_MS;
    return told && recent ? [{ request: r, mine, actions: [] }] : [];
  });
}

/** Whether this user, as the requester, holds a sharing or waits for Compliance: slsd allows one at a time (S5), so no new request. */
export function holdsSharing(all: readonly SharingView[], username: string): boolean {
  return all.some((r) => HELD.includes(r.state) && same(r.requester.username, username));
}

/** This user's request still being made (started or verified), to continue or withdraw before another (S3, S5). */
export function requestInProgress(all: readonly SharingView[], username: string): SharingView | null {
  return all.find((r) => (r.state === 'started' || r.state === 'verified') && same(r.requester.username, username)) ?? null;
}

/** A started request with the challenge slsd issued for it (SPEC S3): what "Continue" goes back to. */
export interface StartedSharing {
  readonly requestId: string;
  readonly c: ConfirmationChallenge;
  readonly request: SharingView;
}

/**
 * The challenges of started requests, kept for this run of the app beyond the screen that showed them
 * (SPEC S3): the requester who leaves the screen and comes back continues with the same challenge while
 * slsd still takes an answer to it. After a restart, slsd's list gives it back (`SharingView.challenge`,
 * the requester's own started request only: `resumableChallenge`). Without either, Continue asks for the
 * owner's password again, and the new request replaces the started one. Bounded; not secret (the
 * challenge is shown on screen, answering it needs the owner's device).
 */
const held = new Map<string, { username: string; started: StartedSharing }>();
const HELD_MAX = 8;
/** Confirmations given up here (answered, withdrawn, started over, ended): slsd's list may still offer one; Continue does not take it up again. */
const spent = new Set<string>();
const SPENT_MAX = 32;
/** Too close to its expiry to be typed in time: a new challenge instead. */
const EXPIRY_MARGIN_MS = 15_000;

export function holdChallenge(username: string, started: StartedSharing): void {
  held.delete(started.requestId);
  held.set(started.requestId, { username: username.toLowerCase(), started });
  while (held.size > HELD_MAX) held.delete(held.keys().next().value!);
}

/** The challenge `username` was given for request `requestId`, while it can still be answered; else null. */
export function heldChallenge(username: string, requestId: string, now: number = Date.now()): StartedSharing | null {
  const h = held.get(requestId);
  if (!h || h.username !== username.toLowerCase()) return null;
  if (Date.parse(h.started.c.expiresAt) - now <= EXPIRY_MARGIN_MS) {
    held.delete(requestId);
    return null;
  }
  return h.started;
}

/** The challenge of `requestId` can no longer be answered (answered, ended, started over, withdrawn). */
export function dropChallenge(requestId: string): void {
  const h = held.get(requestId);
  if (h) {
    spent.add(h.started.c.confirmationId);
    while (spent.size > SPENT_MAX) spent.delete(spent.values().next().value!);
  }
  held.delete(requestId);
}

/**
 * What Continue goes back to for `request` (SPEC S3): the challenge held from this run of the app, else
 * the one slsd's list gives with the requester's started request (after a restart, or another screen),
 * while it can still be typed in time and was not given up here; else null: the owner's password again.
 */
export function resumableChallenge(username: string, request: SharingView, now: number = Date.now()): StartedSharing | null {
  const kept = heldChallenge(username, request.id, now);
  if (kept) return kept;
  const c = request.challenge;
  if (!c || request.state !== 'started' || !same(request.requester.username, username) || spent.has(c.confirmationId)) return null;
  if (Date.parse(c.expiresAt) - now <= EXPIRY_MARGIN_MS) return null;
  return { requestId: request.id, c, request };
}

export interface SharingListProps {
  api: SlsApi;
  sharings: readonly SharingView[];
  /** The signed-in user's name: who is the requester and who the owner of each request. */
  username: string;
  /** The device the session these screens use was opened with (the trading session's, or the step-up's). */
  signedInWith: string | null;
  /** The request the screen below the list is taking through its steps now: not listed twice. */
  inProgress?: string | null;
  /** The screen below the list is waiting for slsd (a Submit from here): no second step meanwhile. */
  busy?: boolean;
  /** A sharing ended or a request was withdrawn or refused (the message to show); the list is read again. */
  onChanged(message: string): void;
  /** The sharing ended the session these screens use (S5, D8): back to the login form, saying why. */
  onSignedOut(notice: Notice): void;
  /** Continue a started request of this user's: its challenge again, or the owner's password for a new one (S3). */
  onContinue(request: SharingView): void;
  /** Submit a verified request of this user's (S3, S4): approved at once, or sent to Compliance. */
  onSubmit(request: SharingView): void;
}

export function SharingList({ api, sharings, username, signedInWith, inProgress = null, busy: elsewhere = false, onChanged, onSignedOut, onContinue, onSubmit }: SharingListProps) {
  const { t } = useTranslation('account');
  // SPEC S3, S5: one end/withdraw/refuse at a time (a second click before the re-render sends nothing);
  // its answer after the list is gone is dropped (AccountScreen's panels do the same).
  const { busy, error, run, setError, leave } = useAction(undefined, undefined, { oneAtATime: true });
  useEffect(() => leave, [leave]);
  const [ending, setEnding] = useState<string | null>(null);
  const rows = sharingRows(sharings, username).filter((row) => row.request.id !== inProgress);
  if (rows.length === 0) return null;

  const end = async (r: SharingView, mine: boolean) => {
    const device = deviceLabel(r.device.label, r.device.kind);
    const endsSession = mine && r.state === 'approved' && r.device.id === signedInWith;
    const done = await run(() => api.cancelSharing({ requestId: r.id }));
    if (!done) return;
    dropChallenge(r.id);
    setEnding(null);
    if (endsSession) return onSignedOut({ message: `${t('share.current.signedOut', { owner: r.owner.displayName, device })} ${t('share.current.signInOwn')}`, action: '', tone: 'info' });
    if (r.state !== 'approved') return onChanged(mine ? t('share.current.withdrawn') : t('share.current.refused', { requester: r.requester.displayName, device }));
    onChanged(mine ? t('share.current.ended') : t('share.current.endedOwner', { requester: r.requester.displayName, device }));
  };

  /** What ended the request and when, for the one who reads it (SPEC S3–S5): what it was, then who or what ended it. */
  const endedText = (r: SharingView, ended: NonNullable<SharingView['ended']>, mine: boolean): string => {
    const device = deviceLabel(r.device.label, r.device.kind);
    const owner = r.owner.displayName;
    const requester = r.requester.displayName;
    const when = formatNewYorkTime(new Date(ended.at), new Date(), locale());
    // An approved sharing that was ended (decided, then cancelled) is a use, not a request.
    const used = r.state === 'cancelled' && r.decidedAt !== undefined;
    const what = mine
      ? t(used ? 'share.current.over.yourSharing' : 'share.current.over.yourRequest', { owner, device, when })
      : t(used ? 'share.current.over.theirSharing' : 'share.current.over.theirRequest', { requester, device, when });
    const why = ((): string => {
      switch (ended.reason) {
        case 'refused_by_owner':
          return t('share.current.over.refusedByOwner', { owner });
        case 'ended_by_owner':
          return t('share.current.over.endedByOwner', { owner });
        case 'withdrawn':
          return t('share.current.over.withdrawnByRequester', { requester });
        case 'ended_by_requester':
          return t('share.current.over.endedByRequester', { requester });
        case 'rejected_by_compliance':
          return t('share.current.over.rejectedByCompliance');
        case 'device_reported':
          return t('share.current.over.deviceReported');
        case 'device_returned':
          return t('share.current.over.deviceReturned');
        case 'device_set_aside':
        case 'device_unavailable':
          return t('share.current.over.deviceOutOfUse');
        default:
          return '';
      }
    })();
    return why ? `${what} ${why}` : what;
  };

  /** What the request is at, for the one who reads it (SPEC S3–S5). */
  const describe = ({ request: r, mine }: SharingRow): string => {
    const device = deviceLabel(r.device.label, r.device.kind);
    const owner = r.owner.displayName;
    const requester = r.requester.displayName;
    const own = r.requesterDevices.map((d) => deviceLabel(d.label)).join(', ');
    const count = r.requesterDevices.length;
    if (r.ended && !isOpen(r.state)) return endedText(r, r.ended, mine);
    if (!mine) {
      switch (r.state) {
        case 'started':
          return t('share.current.theyStarted', { requester, device });
        case 'verified':
          return t('share.current.theyVerified', { requester, device });
        case 'pending_compliance':
          return t('share.current.theyWait', { requester, device });
        default:
          return t('share.current.theyUse', { requester, device });
      }
    }
    switch (r.state) {
      case 'started':
        return t('share.current.youStarted', { owner, device });
      case 'verified':
        return `${r.needsCompliance ? t('share.current.youVerifiedCompliance', { owner, device }) : t('share.current.youVerified', { owner, device })}${own ? ` ${t('share.setAside', { devices: own })}` : ''}`;
      case 'pending_compliance':
        return t('share.current.youWait', { owner, device });
      case 'rejected':
        return t('share.current.youRejected', { owner, device });
      default:
        return `${t('share.current.youUse', { owner, device })}${own ? ` ${t('share.current.yoursSetAside', { devices: own, count })}` : ''}`;
    }
  };

  const labels: Record<SharingAction, string> = {
    continue: t('continue'),
    submit: t('share.submit'),
    withdraw: t('share.current.withdraw'),
    refuse: t('share.current.refuse'),
    end: t('share.current.end'),
  };

  const act = (action: SharingAction, row: SharingRow) => {
    setError(null);
    switch (action) {
      case 'continue':
        return onContinue(row.request);
      case 'submit':
        return onSubmit(row.request);
      // An approved sharing asks first.
      case 'end':
        return setEnding(row.request.id);
      // A request not yet approved changed nothing: it goes at once.
      default:
        return void end(row.request, row.mine);
    }
  };

  return (
    <div className="sharing-now">
      <h3>{t('share.current.title')}</h3>
      <ul className="device-list">
        {rows.map((row) => {
          const { request: r, mine } = row;
          const device = deviceLabel(r.device.label, r.device.kind);
          const own = r.requesterDevices.map((d) => deviceLabel(d.label)).join(', ');
          const count = r.requesterDevices.length;
          return (
            <li key={r.id} data-request={r.id}>
              {describe(row)}
              {ending === r.id || row.actions.length === 0 ? null : (
                <span className="row-actions">
                  {row.actions.map((action) => (
                    <button key={action} type="button" className="link" aria-label={`${labels[action]}: ${device}`} disabled={busy || elsewhere} onClick={() => act(action, row)}>
                      {labels[action]}
                    </button>
                  ))}
                </span>
              )}
              {ending === r.id ? (
                <ConfirmBox
                  title={t('share.current.confirm.title')}
                  consequences={
                    mine
                      ? [t('share.current.confirm.youLose', { owner: r.owner.displayName, device }), own ? t('share.current.confirm.yoursBack', { devices: own, count }) : t('share.current.confirm.yoursBackUnnamed')]
                      : [t('share.current.confirm.theyLose', { requester: r.requester.displayName, device }), t('share.current.confirm.theirsBack', { requester: r.requester.displayName })]
                  }
                  note={
                    mine && r.device.id === signedInWith ? (
                      <p className="notice" role="note">
                        {t('share.current.confirm.endsSession', { owner: r.owner.displayName, device })}
                      </p>
                    ) : null
                  }
                  confirmLabel={t('share.current.end')}
                  busyLabel={t('busy.ending')}
                  cancelLabel={t('share.current.confirm.keep')}
                  busy={busy}
                  onConfirm={() => void end(r, mine)}
                  onCancel={() => setEnding(null)}
                />
              ) : null}
            </li>
          );
        })}
      </ul>
      <ErrorLine error={error} />
    </div>
  );
}
