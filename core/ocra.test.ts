import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hotp, ocra, OcraError, ocraPasswordHash, parseOcraSuite, verifyOcra } from './ocra.ts';

/** Hex text to bytes, for the RFC's keys. */
function hex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((b) => parseInt(b, 16)));
}

// RFC 6287 Appendix C: the keys.
const SEED20 = hex('3132333435363738393031323334353637383930');
const SEED32 = hex('3132333435363738393031323334353637383930313233343536373839303132');
const SEED64 = hex(
  '31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334',
);
// RFC 6287 Appendix C: PIN "1234", hashed with SHA-1.
const PIN_SHA1 = '7110eda4d09e062aa5e4a390b0a572ac0d2c0220';
// RFC 6287 Appendix C: T = 132d0b6 minutes (0x132d0b6 = 20107446), "Mar 25 2008, 12:06:30 GMT".
const T = 0x132d0b6n;

describe('RFC 6287 Appendix C.1 one-way challenge-response', () => {
  it.each([
    ['00000000', '237653'],
    ['11111111', '243178'],
    ['22222222', '653583'],
    ['33333333', '740991'],
    ['44444444', '608993'],
    ['55555555', '388898'],
    ['66666666', '816933'],
    ['77777777', '224598'],
    ['88888888', '750600'],
    ['99999999', '294470'],
  ])('OCRA-1:HOTP-SHA1-6:QN08 Q=%s → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA1-6:QN08', SEED20, { question })).toBe(expected);
  });

  it('hashes the PIN 1234 with SHA-1 as the RFC does', () => {
    expect(Buffer.from(ocraPasswordHash('OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1', '1234')).toString('hex')).toBe(PIN_SHA1);
  });

  it.each([
    [0, '65347737'],
    [1, '86775851'],
    [2, '78192410'],
    [3, '71565254'],
    [4, '10104329'],
    [5, '65983500'],
    [6, '70069104'],
    [7, '91771096'],
    [8, '75011558'],
    [9, '08522129'],
  ])('OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1 C=%i Q=12345678 PIN=1234 → %s', (counter, expected) => {
    const suite = 'OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1';
    const password = ocraPasswordHash(suite, '1234');
    expect(ocra(suite, SEED32, { counter, question: '12345678', password })).toBe(expected);
  });

  it.each([
    ['00000000', '83238735'],
    ['11111111', '01501458'],
    ['22222222', '17957585'],
    ['33333333', '86776967'],
    ['44444444', '86807031'],
  ])('OCRA-1:HOTP-SHA256-8:QN08-PSHA1 Q=%s PIN=1234 → %s', (question, expected) => {
    const suite = 'OCRA-1:HOTP-SHA256-8:QN08-PSHA1';
    expect(ocra(suite, SEED32, { question, password: hex(PIN_SHA1) })).toBe(expected);
  });

  it.each([
    [0, '00000000', '07016083'],
    [1, '11111111', '63947962'],
    [2, '22222222', '70123924'],
    [3, '33333333', '25341727'],
    [4, '44444444', '33203315'],
    [5, '55555555', '34205738'],
    [6, '66666666', '44343969'],
    [7, '77777777', '51946085'],
    [8, '88888888', '20403879'],
    [9, '99999999', '31409299'],
  ])('OCRA-1:HOTP-SHA512-8:C-QN08 C=%i Q=%s → %s', (counter, question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA512-8:C-QN08', SEED64, { counter: BigInt(counter), question })).toBe(expected);
  });

  it.each([
    ['00000000', '95209754'],
    ['11111111', '55907591'],
    ['22222222', '22048402'],
    ['33333333', '24218844'],
    ['44444444', '36209546'],
  ])('OCRA-1:HOTP-SHA512-8:QN08-T1M Q=%s T=132d0b6 → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA512-8:QN08-T1M', SEED64, { question, timestamp: T })).toBe(expected);
  });
});

describe('RFC 6287 Appendix C.2 mutual challenge-response', () => {
  it.each([
    ['CLI22220SRV11110', '28247970'],
    ['CLI22221SRV11111', '01984843'],
    ['CLI22222SRV11112', '65387857'],
    ['CLI22223SRV11113', '03351211'],
    ['CLI22224SRV11114', '83412541'],
  ])('server OCRA-1:HOTP-SHA256-8:QA08 Q=%s → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA256-8:QA08', SEED32, { question })).toBe(expected);
  });

  it.each([
    ['SRV11110CLI22220', '15510767'],
    ['SRV11111CLI22221', '90175646'],
    ['SRV11112CLI22222', '33777207'],
    ['SRV11113CLI22223', '95285278'],
    ['SRV11114CLI22224', '28934924'],
  ])('client OCRA-1:HOTP-SHA256-8:QA08 Q=%s → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA256-8:QA08', SEED32, { question })).toBe(expected);
  });

  it.each([
    ['CLI22220SRV11110', '79496648'],
    ['CLI22221SRV11111', '76831980'],
    ['CLI22222SRV11112', '12250499'],
    ['CLI22223SRV11113', '90856481'],
    ['CLI22224SRV11114', '12761449'],
  ])('server OCRA-1:HOTP-SHA512-8:QA08 Q=%s → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA512-8:QA08', SEED64, { question })).toBe(expected);
  });

  it.each([
    ['SRV11110CLI22220', '18806276'],
    ['SRV11111CLI22221', '70020315'],
    ['SRV11112CLI22222', '01600026'],
    ['SRV11113CLI22223', '18951020'],
    ['SRV11114CLI22224', '32528969'],
  ])('client OCRA-1:HOTP-SHA512-8:QA08-PSHA1 Q=%s PIN=1234 → %s', (question, expected) => {
    const suite = 'OCRA-1:HOTP-SHA512-8:QA08-PSHA1';
    expect(ocra(suite, SEED64, { question, password: ocraPasswordHash(suite, '1234') })).toBe(expected);
  });
});

describe('RFC 6287 Appendix C.3 plain signature', () => {
  it.each([
    ['SIG10000', '53095496'],
    ['SIG11000', '04110475'],
    ['SIG12000', '31331128'],
    ['SIG13000', '76028668'],
    ['SIG14000', '46554205'],
  ])('OCRA-1:HOTP-SHA256-8:QA08 Q=%s → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA256-8:QA08', SEED32, { question })).toBe(expected);
  });

  it.each([
    ['SIG1000000', '77537423'],
    ['SIG1100000', '31970405'],
    ['SIG1200000', '10235557'],
    ['SIG1300000', '95213541'],
    ['SIG1400000', '65360607'],
  ])('OCRA-1:HOTP-SHA512-8:QA10-T1M Q=%s T=132d0b6 → %s', (question, expected) => {
    expect(ocra('OCRA-1:HOTP-SHA512-8:QA10-T1M', SEED64, { question, timestamp: T })).toBe(expected);
  });
});

describe('RFC 4226 Appendix D HOTP', () => {
  const secret = new TextEncoder().encode('12345678901234567890');
  it.each([
    [0, '755224'],
    [1, '287082'],
    [2, '359152'],
    [3, '969429'],
    [4, '338314'],
    [5, '254676'],
    [6, '287922'],
    [7, '162583'],
    [8, '399871'],
    [9, '520489'],
  ])('HOTP count %i → %s', (counter, expected) => {
    expect(hotp(secret, counter, 6)).toBe(expected);
  });
});

describe('parseOcraSuite (RFC 6287 §6)', () => {
  it('parses the DSC+ suite (SPEC D2)', () => {
    expect(parseOcraSuite('OCRA-1:HOTP-SHA256-8:QN06-PSHA1')).toEqual({
      text: 'OCRA-1:HOTP-SHA256-8:QN06-PSHA1',
      algorithm: 'SHA256',
      digits: 8,
      counter: false,
      question: { format: 'N', length: 6 },
      password: 'SHA1',
    });
  });

  it('parses counter, session and timestamp fields', () => {
    const s = parseOcraSuite('OCRA-1:HOTP-SHA512-0:C-QH40-PSHA512-S064-T30S');
    expect(s).toMatchObject({ algorithm: 'SHA512', digits: 0, counter: true, question: { format: 'H', length: 40 } });
    expect(s.password).toBe('SHA512');
    expect(s.sessionLength).toBe(64);
    expect(s.timeStepSeconds).toBe(30);
    expect(parseOcraSuite('OCRA-1:HOTP-SHA1-6:QN08-T2H').timeStepSeconds).toBe(7200);
  });

  it.each([
    '',
    'OCRA-1:HOTP-SHA1-6',
    'OCRA-2:HOTP-SHA1-6:QN08',
    'OCRA-1:TOTP-SHA1-6:QN08',
    'OCRA-1:HOTP-MD5-6:QN08',
    'OCRA-1:HOTP-SHA1-3:QN08',
    'OCRA-1:HOTP-SHA1-11:QN08',
    'OCRA-1:HOTP-SHA1-06:QN08',
    'OCRA-1:HOTP-SHA1-6:QX08',
    'OCRA-1:HOTP-SHA1-6:QN03',
    'OCRA-1:HOTP-SHA1-6:QN65',
    'OCRA-1:HOTP-SHA1-6:QN8',
    'OCRA-1:HOTP-SHA1-6:C',
    'OCRA-1:HOTP-SHA1-6:QN08-PSHA384',
    'OCRA-1:HOTP-SHA1-6:QN08-S64',
    'OCRA-1:HOTP-SHA1-6:QN08-T0M',
    'OCRA-1:HOTP-SHA1-6:QN08-T60S',
    'OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1',
    'OCRA-1:HOTP-SHA1-6:QN08-X',
    'OCRA-1:HOTP-SHA1-6:QN08:extra',
  ])('rejects the malformed suite %j with OcraError', (suite) => {
    expect(() => parseOcraSuite(suite)).toThrow(OcraError);
  });
});

describe('ocra input checks', () => {
  const key = SEED32;
  it.each([
    ['a numeric question with letters', 'OCRA-1:HOTP-SHA1-6:QN08', { question: '1234567A' }],
    ['a question of the wrong length', 'OCRA-1:HOTP-SHA1-6:QN08', { question: '1234567' }],
    ['a question longer than 2·xx', 'OCRA-1:HOTP-SHA1-6:QN08', { question: '12345678123456781' }],
    ['a hex question with non-hex', 'OCRA-1:HOTP-SHA1-6:QH08', { question: '1234567G' }],
    ['a non-ASCII alphanumeric question', 'OCRA-1:HOTP-SHA1-6:QA08', { question: 'SIG1000é' }],
    ['a missing counter', 'OCRA-1:HOTP-SHA1-6:C-QN08', { question: '12345678' }],
    ['a counter the suite does not take', 'OCRA-1:HOTP-SHA1-6:QN08', { question: '12345678', counter: 1 }],
    ['a negative counter', 'OCRA-1:HOTP-SHA1-6:C-QN08', { question: '12345678', counter: -1 }],
    ['a counter over 64 bits', 'OCRA-1:HOTP-SHA1-6:C-QN08', { question: '12345678', counter: 1n << 64n }],
    ['a missing password', 'OCRA-1:HOTP-SHA1-6:QN08-PSHA1', { question: '12345678' }],
    ['a password hash of the wrong size', 'OCRA-1:HOTP-SHA1-6:QN08-PSHA256', { question: '12345678', password: hex(PIN_SHA1) }],
    ['a missing session', 'OCRA-1:HOTP-SHA1-6:QN08-S004', { question: '12345678' }],
    ['a session too long', 'OCRA-1:HOTP-SHA1-6:QN08-S004', { question: '12345678', session: new Uint8Array(5) }],
    ['a missing timestamp', 'OCRA-1:HOTP-SHA1-6:QN08-T1M', { question: '12345678' }],
    ['a fractional timestamp', 'OCRA-1:HOTP-SHA1-6:QN08-T1M', { question: '12345678', timestamp: 1.5 }],
  ])('throws OcraError for %s', (_what, suite, input) => {
    expect(() => ocra(suite, key, input)).toThrow(OcraError);
  });

  it('left-pads a short session to the suite length', () => {
    const suite = 'OCRA-1:HOTP-SHA1-6:QN08-S004';
    const a = ocra(suite, key, { question: '12345678', session: Uint8Array.of(1, 2) });
    const b = ocra(suite, key, { question: '12345678', session: Uint8Array.of(0, 0, 1, 2) });
    const c = ocra(suite, key, { question: '12345678', session: Uint8Array.of(1, 2, 0, 0) });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('returns the full HMAC in hex for t = 0', () => {
    expect(ocra('OCRA-1:HOTP-SHA256-0:QN08', key, { question: '12345678' })).toMatch(/^[0-9A-F]{64}$/);
  });

  it('refuses a PIN hash for a suite without P', () => {
    expect(() => ocraPasswordHash('OCRA-1:HOTP-SHA1-6:QN08', '1234')).toThrow(OcraError);
  });

  it('rejects HOTP digit counts outside 6–10', () => {
    expect(() => hotp(key, 0, 5)).toThrow(OcraError);
  });
});

describe('verifyOcra', () => {
  const suite = 'OCRA-1:HOTP-SHA256-8:QN06-PSHA1';
  const password = ocraPasswordHash(suite, '1234');
  const right = ocra(suite, SEED32, { question: '123456', password });

  it('accepts the right response', () => {
    expect(verifyOcra(suite, SEED32, { question: '123456', password }, right)).toBe(true);
  });

  it('rejects a response with one digit changed, a short one, and one for another PIN', () => {
    const wrongDigit = right.slice(0, 7) + String((Number(right[7]) + 1) % 10);
    expect(verifyOcra(suite, SEED32, { question: '123456', password }, wrongDigit)).toBe(false);
    expect(verifyOcra(suite, SEED32, { question: '123456', password }, right.slice(0, 7))).toBe(false);
    const other = ocra(suite, SEED32, { question: '123456', password: ocraPasswordHash(suite, '4321') });
    expect(other).not.toBe(right);
    expect(verifyOcra(suite, SEED32, { question: '123456', password }, other)).toBe(false);
  });

  it('constantTimeEqual compares contents and lengths', () => {
    expect(constantTimeEqual('12345678', '12345678')).toBe(true);
    expect(constantTimeEqual('12345678', '12345679')).toBe(false);
    expect(constantTimeEqual('1234567', '12345678')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
