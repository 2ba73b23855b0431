// The masked mobile number on the SMS screens (SPEC L4): the country and the last two digits only.
import { describe, expect, it } from 'vitest';
import { maskPhoneNumber } from './gateway.ts';

describe('maskPhoneNumber (SPEC L4)', () => {
  it.each([
    ['+12125550142', '+1 ••• ••• ••42'], // US: one-digit calling code
    ['+41791234567', '+41 ••• ••• ••67'], // Switzerland: was "+4" when the code was guessed from the length
    ['+436641234567', '+43 ••• ••• ••67'], // Austria
    ['+447400123456', '+44 ••• ••• ••56'], // UK
    ['+35312345678', '+353 ••• ••• ••78'], // Ireland: three digits
    ['+4917612345678', '+49 ••• ••• ••78'], // Germany, 11 national digits
    ['+1 (212) 555-0142', '+1 ••• ••• ••42'], // as typed, spaces and brackets
  ])('%s → %s', (number, masked) => {
    expect(maskPhoneNumber(number)).toBe(masked);
  });

  it('shows no more than the calling code and two digits, and no country it cannot tell', () => {
    expect(maskPhoneNumber('+999123456789')).toBe('••• ••• ••89');
    expect(maskPhoneNumber('0791234567')).toBe('••• ••• ••67');
    for (const n of ['+12125550142', '+41791234567']) expect(maskPhoneNumber(n).replace(/\D/g, '').length).toBeLessThanOrEqual(5);
  });
});
