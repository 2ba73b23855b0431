/**
 * Asking before a step that cannot be undone from here (SPEC O1, O2 opting out; D8 returning a
 * device; S5 ending a sharing): inline, like the screen's other steps, saying what it means before
 * anything changes. Cancel has the focus, so Enter on it or Escape changes nothing; the box comes
 * into view in the small window (UI.md, about 420×560).
 */
import { useEffect, useId, useRef } from 'react';
import type { FormEvent, KeyboardEvent, ReactNode } from 'react';
import { BusyButton } from '../ui.tsx';

/** Escape in a step is its Cancel (SPEC C5, keyboard-only use); a key a control already handled is left alone. */
export function escapeTo(cancel: () => void) {
  return (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    e.preventDefault();
    cancel();
  };
}

export interface ConfirmBoxProps {
  title: string;
  /** What the step means, one consequence per item. */
  consequences: readonly string[];
  /** Said after the consequences, apart from them: a hint, or that the step signs the user out (D8, S5). */
  note?: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  cancelLabel: string;
  busy: boolean;
  onConfirm(): void;
  onCancel(): void;
}

export function ConfirmBox({ title, consequences, note, confirmLabel, busyLabel, cancelLabel, busy, onConfirm, onCancel }: ConfirmBoxProps) {
  const id = useId();
  const box = useRef<HTMLFormElement>(null);
  useEffect(() => {
    // A statement, not the arrow's value: scrollIntoView may return a promise, which React would take for a cleanup.
    box.current?.scrollIntoView({ block: 'nearest' });
  }, []);
  return (
    <form
      ref={box}
      className="inline-form"
      aria-labelledby={`${id}-h`}
      aria-describedby={`${id}-d`}
      onKeyDown={escapeTo(onCancel)}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onConfirm();
      }}
    >
      <h3 id={`${id}-h`}>{title}</h3>
      <ul className="consequences" id={`${id}-d`}>
        {consequences.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {note}
      <p className="actions">
        <button type="button" className="secondary-button" onClick={onCancel} autoFocus>
          {cancelLabel}
        </button>
        <BusyButton busy={busy} busyLabel={busyLabel}>
          {confirmLabel}
        </BusyButton>
      </p>
    </form>
  );
}
