// Where the focus goes after a step that failed and left the screen as it was (SPEC C5): back to the
// field to correct, its text selected, or the button to press again; never taken from a user who
// went on to another control. Fake elements stand in for the DOM: the rule reads only these.
import { describe, expect, it } from 'vitest';
import { refocus } from './ui.tsx';
import type { FocusTarget } from './ui.tsx';

/** A page: elements in a tree, one of them (or none) with the focus. */
function page() {
  const doc: { activeElement: Element | null; body: Element | null } = { activeElement: null, body: null };
  const calls: string[] = [];
  type Fake = FocusTarget & { name: string; parent: Fake | null };
  const el = (name: string, parent: Fake | null, input = false): Fake => {
    const e: Fake = {
      name,
      parent,
      ownerDocument: doc,
      form: null,
      contains(other) {
        for (let at = other as unknown as Fake | null; at; at = at.parent) if (at === e) return true;
        return false;
      },
      focus() {
        calls.push(`focus ${name}`);
        doc.activeElement = e as unknown as Element;
      },
      ...(input ? { select: () => void calls.push(`select ${name}`) } : {}),
    };
    return e;
  };
  const body = el('body', null);
  doc.body = body as unknown as Element;
  doc.activeElement = doc.body;
  const form = el('form', body);
  const field = Object.assign(el('field', form, true), { form });
  const submit = Object.assign(el('submit', form), { form });
  const cancel = el('cancel', body);
  const retry = el('retry', body);
  const focusOn = (e: Fake | null) => (doc.activeElement = e as unknown as Element | null);
  return { doc, calls, body, form, field, submit, cancel, retry, focusOn };
}

describe('refocus: the focus after a failed step (SPEC C5)', () => {
  it('focus lost to <body> (the button that sent the step was disabled): back to the field, its text selected', () => {
    const p = page();
    expect(refocus(p.field, { select: true })).toBe(true);
    expect(p.calls).toEqual(['focus field', 'select field']);
    expect(p.doc.activeElement).toBe(p.field);
  });

  it('no element with the focus at all: the same', () => {
    const p = page();
    p.focusOn(null);
    expect(refocus(p.field, { select: true })).toBe(true);
    expect(p.calls).toEqual(['focus field', 'select field']);
  });

  it('still in the step’s form (on its Submit, or in the field itself): back to the field', () => {
    const p = page();
    p.focusOn(p.submit);
    expect(refocus(p.field, { select: true })).toBe(true);
    p.focusOn(p.field);
    expect(refocus(p.field, { select: true })).toBe(true);
    expect(p.calls).toEqual(['focus field', 'select field', 'focus field', 'select field']);
  });

  it('without `select` the text is left as it was (a Resend that failed: what is typed stays typed)', () => {
    const p = page();
    expect(refocus(p.field)).toBe(true);
    expect(p.calls).toEqual(['focus field']);
  });

  it('the user went on to another control meanwhile (Cancel, More): the focus stays there', () => {
    const p = page();
    p.focusOn(p.cancel);
    expect(refocus(p.field, { select: true })).toBe(false);
    expect(p.calls).toEqual([]);
    expect(p.doc.activeElement).toBe(p.cancel);
  });

  it('a button outside a form (Send a new notification): back to it from <body>, not from another control', () => {
    const p = page();
    expect(refocus(p.retry, { select: true })).toBe(true);
    expect(p.calls).toEqual(['focus retry']);
    p.focusOn(p.cancel);
    expect(refocus(p.retry)).toBe(false);
    expect(p.calls).toEqual(['focus retry']);
  });

  it('nothing to go back to (the form is gone): nothing happens', () => {
    expect(refocus(null)).toBe(false);
    expect(refocus(undefined, { select: true })).toBe(false);
  });
});
