import { describe, expect, it } from 'vitest';
import { normalizeUsername } from './username.ts';

describe('user names as slsd compares them (SPEC L2, L6)', () => {
  it('folds case, full-width forms and surrounding spaces into one name', () => {
    for (const typed of ['JSmith', 'jsmith', '  JSMITH\t', 'ＪＳｍｉｔｈ']) expect(normalizeUsername(typed)).toBe('jsmith');
  });

  it('keeps names that differ by more than that apart', () => {
    expect(normalizeUsername('j.smith')).not.toBe(normalizeUsername('jsmith'));
    expect(normalizeUsername('j smith')).toBe('j smith');
  });
});
