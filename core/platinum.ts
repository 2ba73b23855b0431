/**
 * The Platinum device's answer: OCRA HMAC, 32 bits, written in base 16 over 0–9 A C E F H P.
 *
 * SPEC D2: the Platinum device answers an 8-digit challenge with 8 characters from
 * `PLATINUM_ALPHABET`. Its algorithm is ours and is defined here, in one place:
 *
 *   1. HMAC = the OCRA computation (RFC 6287 §5.1) of the catalogue's suite
 *      (`DEVICE_CATALOGUE.platinum.ocraSuite`, `OCRA-1:HOTP-SHA512-8:QN08`), the challenge as the
 *      numeric question.
 *   2. Take the 4 bytes at the dynamic-truncation offset (RFC 4226 §5.3: the low nibble of the
 *      last byte) — all 32 bits, without masking the top bit, since no signed arithmetic follows.
 *   3. Write those 32 bits as 8 nibbles, most significant first, each nibble `n` as
 *      `PLATINUM_ALPHABET[n]`. The suite's `-8` is thus 8 characters, not 8 decimal digits.
 *
 * 16 symbols × 8 = 32 bits, against ~26.6 bits for 8 decimal digits. The letters were chosen for
 * the device's 7-segment display (A C E F H P read unambiguously), so B and D never appear.
 */
import { DEVICE_CATALOGUE, PLATINUM_ALPHABET } from './devices.ts';
import { ocraHmac, OcraError } from './ocra.ts';

/** The suite whose HMAC the Platinum device encodes (one place: the device catalogue). */
export const PLATINUM_SUITE: string = requireSuite();

function requireSuite(): string {
  const suite = DEVICE_CATALOGUE.platinum.ocraSuite;
  if (suite === null) throw new OcraError('the device catalogue names no Platinum suite');
  return suite;
}

/** Characters in a Platinum response. */
export const PLATINUM_RESPONSE_LENGTH = 8;

/**
 * Compute the Platinum device's response to a challenge.
 *
 * Throws OcraError when the challenge is not the suite's 8-digit numeric question.
 */
export function platinumResponse(key: Uint8Array, challenge: string): string {
  const mac = ocraHmac(PLATINUM_SUITE, key, { question: challenge });
  const offset = mac[mac.length - 1]! & 0x0f;
  let out = '';
  for (let i = 0; i < 4; i++) {
    const byte = mac[offset + i]!;
    out += PLATINUM_ALPHABET[byte >> 4]! + PLATINUM_ALPHABET[byte & 0x0f]!;
  }
  return out;
}
