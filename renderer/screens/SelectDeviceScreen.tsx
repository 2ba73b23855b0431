/**
 * Select Second Factor Device (SPEC L2, L5): the user's active devices, the last used preselected;
 * a plugged-in DSC+ says "connected" (C2).
 */
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import type { DeviceView } from '../../core/contract/index.ts';
import { i18n } from '../i18n/index.ts';
import { BusyButton, ErrorLine, refocus, useAfterFailure, useEscape } from '../ui.tsx';
import type { ErrorText } from '../../core/contract/index.ts';
import { deviceLabel } from '../devices.ts';

export interface SelectDeviceProps {
  devices: readonly DeviceView[];
  preselectedDeviceId: string;
  busy: boolean;
  error: ErrorText | null;
  onSelect(deviceId: string): void;
  onCancel(): void;
  /** The Client Portal login of Account security (SPEC C6): Cancel goes back there, not to the login form. */
  stepUp?: boolean;
  /** Under the heading: the polite notice in the login's last minute (SPEC L2–L5, C5). */
  notice?: ReactNode;
}

export function deviceOptionLabel(d: DeviceView): string {
  const label = deviceLabel(d.label, d.kind);
  return d.connected ? i18n.t('login:selectDevice.connected', { label }) : label;
}

/**
 * The device the drop-down shows: the one the user picked while it is listed, else the preselected
 * one, else the first. The list can change under the screen (SPEC L2, L5): a device refused as gone
 * comes back with the devices the user has now, and the one picked may no longer be among them.
 */
export function shownDevice(devices: readonly DeviceView[], picked: string | null, preselectedDeviceId: string): string {
  if (picked !== null && devices.some((d) => d.id === picked)) return picked;
  return devices.some((d) => d.id === preselectedDeviceId) ? preselectedDeviceId : (devices[0]?.id ?? '');
}

export function SelectDeviceScreen({ devices, preselectedDeviceId, busy, error, onSelect, onCancel, stepUp = false, notice = null }: SelectDeviceProps) {
  const [picked, setChosen] = useState<string | null>(null);
  const chosen = shownDevice(devices, picked, preselectedDeviceId);
  const { t } = useTranslation('login');
  const id = useId();
  // SPEC C5: Escape is the Cancel below.
  useEscape(onCancel);
  const deviceField = useRef<HTMLSelectElement>(null);
  /**
   * After a Continue that failed (the screen stays, with its error line), the focus goes back to the
   * device drop-down, where the user goes on: choose another device, or Enter to try again (SPEC C5).
   * Continue is disabled while it waits, which dropped the focus to <body>, and Tab started over from
   * the page's end. Left alone when the user put it elsewhere meanwhile (Cancel, More).
   */
  useAfterFailure(busy, error !== null, () => refocus(deviceField.current));
  function submit(e: FormEvent) {
    e.preventDefault();
    if (chosen && !busy) onSelect(chosen);
  }
  // SPEC C5, L2: Enter continues with the device shown, as Enter submits on every other screen;
  // Chromium would open the list instead. The arrow keys still change the device.
  function continueOnEnter(e: KeyboardEvent<HTMLSelectElement>) {
    if (e.key !== 'Enter' || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    e.currentTarget.form?.requestSubmit();
  }
  return (
    <main className="screen" aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>{t('selectDevice.title')}</h1>
      {notice}
      <form onSubmit={submit} aria-busy={busy}>
        <div className="field">
          <label htmlFor={`${id}-device`}>{t('selectDevice.device')}</label>
          <select ref={deviceField} id={`${id}-device`} value={chosen} onChange={(e) => setChosen(e.target.value)} onKeyDown={continueOnEnter} autoFocus>
            {devices.map((d) => (
              <option key={d.id} value={d.id}>
                {deviceOptionLabel(d)}
              </option>
            ))}
          </select>
        </div>
        <BusyButton busy={busy} busyLabel={t('selectDevice.submitting')}>
          {t('selectDevice.submit')}
        </BusyButton>
        <ErrorLine error={error} />
      </form>
      <nav className="secondary" aria-label={t('selectDevice.navigation')}>
        <button type="button" className="link" onClick={onCancel}>
          {stepUp ? t('selectDevice.cancelStepUp') : t('selectDevice.cancel')}
        </button>
      </nav>
    </main>
  );
}
