/**
 * The sharings a user is part of, under "Share a device" (SPEC S3–S5): as the requester (using
 * another user's device, own devices set aside) or as the owner (someone uses my device). Either may
 * end an approved sharing, and the requester's own devices are active again (S5); a request waiting
 * for Compliance (S4) can be withdrawn. Ending asks first, saying what it means, and says so when
 * the session these screens use was opened with the shared device: slsd ends that session too.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SharingView } from '../../core/account-api.ts';
import type { SlsApi } from '../../core/contract/index.ts';
import { deviceLabel } from '../devices.ts';
import { ErrorLine, useAction } from '../ui.tsx';
import type { Notice } from '../ui.tsx';
import { ConfirmBox } from './confirm-box.tsx';

/** The states a sharing is shown in: approved (in use) or waiting for Compliance (S4). */
const SHOWN: readonly SharingView['state'][] = ['approved', 'pending_compliance'];

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The requests this user is part of that are shown (in use, or waiting for Compliance). */
export function currentSharings(all: readonly SharingView[]): SharingView[] {
  return all.filter((r) => SHOWN.includes(r.state));
}

/** Whether this user, as the requester, holds a sharing: slsd allows one at a time (S5), so no new request. */
export function holdsSharing(all: readonly SharingView[], username: string): boolean {
  return currentSharings(all).some((r) => same(r.requester.username, username));
}

export interface SharingListProps {
  api: SlsApi;
  sharings: readonly SharingView[];
  /** The signed-in user's name: who is the requester and who the owner of each request. */
  username: string;
  /** The device the session these screens use was opened with (the trading session's, or the step-up's). */
  signedInWith: string | null;
  /** A sharing ended or a request was withdrawn (the message to show); the list is read again. */
  onChanged(message: string): void;
  /** The sharing ended the session these screens use (S5, D8): back to the login form, saying why. */
  onSignedOut(notice: Notice): void;
}

export function SharingList({ api, sharings, username, signedInWith, onChanged, onSignedOut }: SharingListProps) {
  const { t } = useTranslation('account');
  const { busy, error, run, setError } = useAction();
  const [ending, setEnding] = useState<string | null>(null);
  const shown = currentSharings(sharings);
  if (shown.length === 0) return null;

  const end = async (r: SharingView, mine: boolean) => {
    const device = deviceLabel(r.device.label, r.device.kind);
    const endsSession = mine && r.state === 'approved' && r.device.id === signedInWith;
    const done = await run(() => api.cancelSharing({ requestId: r.id }));
    if (!done) return;
    setEnding(null);
    if (endsSession) return onSignedOut({ message: `${t('share.current.signedOut', { owner: r.owner.displayName, device })} ${t('share.current.signInOwn')}`, action: '', tone: 'info' });
    if (r.state === 'pending_compliance') return onChanged(t('share.current.withdrawn'));
    onChanged(mine ? t('share.current.ended') : t('share.current.endedOwner', { requester: r.requester.displayName, device }));
  };

  return (
    <div className="sharing-now">
      <h3>{t('share.current.title')}</h3>
      <ul className="device-list">
        {shown.map((r) => {
          const mine = same(r.requester.username, username);
          const device = deviceLabel(r.device.label, r.device.kind);
          const own = r.requesterDevices.map((d) => deviceLabel(d.label)).join(', ');
          const count = r.requesterDevices.length;
          const approved = r.state === 'approved';
          const text = mine
            ? approved
              ? `${t('share.current.youUse', { owner: r.owner.displayName, device })}${own ? ` ${t('share.current.yoursSetAside', { devices: own, count })}` : ''}`
              : t('share.current.youWait', { owner: r.owner.displayName, device })
            : approved
              ? t('share.current.theyUse', { requester: r.requester.displayName, device })
              : t('share.current.theyWait', { requester: r.requester.displayName, device });
          const label = approved ? t('share.current.end') : mine ? t('share.current.withdraw') : t('share.current.refuse');
          return (
            <li key={r.id}>
              {text}
              {ending === r.id ? null : (
                <span className="row-actions">
                  <button
                    type="button"
                    className="link"
                    aria-label={`${label}: ${device}`}
                    disabled={busy}
                    onClick={() => {
                      setError(null);
                      // A request still waiting changed nothing yet: it goes at once. An approved sharing asks first.
                      if (approved) setEnding(r.id);
                      else void end(r, mine);
                    }}
                  >
                    {label}
                  </button>
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
