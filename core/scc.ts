/**
 * The Security Code Card: 224 numbered cells of 3-character codes, asked two at a time (SPEC D3).
 *
 * Decisions, in one place:
 * - Cells hold 3 characters from `SCC_ALPHABET`: digits 2–9 and capital letters without I and O.
 *   0/O and 1/I are the classic look-alikes on paper; dropping all four leaves 32 symbols, so a
 *   cell holds 15 bits and a login (two cells) 30 bits. Codes come from the CSPRNG by rejection
 *   sampling (core/codes.ts), so every code is equally likely.
 * - A cell counts as used when it is *asked*, not when it is answered right: a failed or abandoned
 *   login must not let an attacker see the same cell asked again (NIST SP 800-63B-4 §3.1.2,
 *   look-up secrets are used once).
 * - Cells are asked in rounds: no cell is asked a second time before every cell of the card has
 *   been asked once (D3). Each login takes two cells, so a round is `SCC_CELLS / 2` = 112 asks.
 *   Within a round both cells are drawn at random among the cells not yet asked in it, so a new
 *   round pairs the cells differently from the last.
 * - Usage is recorded per card as `usage[i - 1]`: the ask number (0, 1, 2, … counted per card,
 *   one number per ask, the same for both cells) in which cell i was last asked, `null` if never.
 *   `recordAsk` writes it; the round of an ask numbered n is ⌊n / 112⌋.
 * - "Nearly used up": fewer than `SCC_NEARLY_USED_UP_CELLS` (20) cells left unasked in the
 *   current round, i.e. at most 9 more logins before cells start to repeat; the client then
 *   suggests a new card.
 */
import { constantTimeEqual, cryptoRandomBytes, normalizeResponse, randomBelow, randomString, type RandomBytes } from './codes.ts';

export const SCC_CELLS = 224;
export const SCC_CODE_LENGTH = 3;
/** Digits 2–9 and A–Z without I and O: no 0/O or 1/I confusion on paper. */
export const SCC_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
/** Asks per round: two cells each. */
export const SCC_ASKS_PER_ROUND = SCC_CELLS / 2;
/** Warn when fewer cells than this are left unasked in the current round. */
export const SCC_NEARLY_USED_UP_CELLS = 20;

/** Bad card data or index numbers (a caller's bug, never a user's typing). */
export class SccError extends Error {
  override readonly name = 'SccError';
}

/** A card's codes: index number i (1–224) holds `cells[i - 1]`. */
export interface SecurityCodeCard {
  readonly cells: readonly string[];
}

/** Per cell, the ask number in which it was last asked; `null` when never asked. */
export type SccUsage = ReadonlyArray<number | null>;

/** Two distinct index numbers, 1–224. */
export type SccIndexPair = readonly [number, number];

/** Generate a new card from the CSPRNG (or an injected byte source). */
export function generateSecurityCodeCard(rng: RandomBytes = cryptoRandomBytes): SecurityCodeCard {
  const cells: string[] = [];
  for (let i = 0; i < SCC_CELLS; i++) cells.push(randomString(SCC_ALPHABET, SCC_CODE_LENGTH, rng));
  return { cells };
}

/** A fresh usage record: no cell asked yet. */
export function newSccUsage(): (number | null)[] {
  return new Array<number | null>(SCC_CELLS).fill(null);
}

function checkUsage(usage: SccUsage): void {
  if (usage.length !== SCC_CELLS) throw new SccError(`SCC usage must have ${SCC_CELLS} entries`);
  for (const u of usage) {
    if (u !== null && !(Number.isSafeInteger(u) && u >= 0)) throw new SccError('SCC usage entries must be null or ask numbers ≥ 0');
  }
}

/** The number the next ask gets: one more than the highest recorded, 0 on a fresh card. */
export function nextAskNumber(usage: SccUsage): number {
  checkUsage(usage);
  let max = -1;
  for (const u of usage) if (u !== null && u > max) max = u;
  return max + 1;
}

/** Zero-based cells not yet asked in the round the next ask belongs to. */
function cellsLeftInRound(usage: SccUsage): number[] {
  const roundStart = Math.floor(nextAskNumber(usage) / SCC_ASKS_PER_ROUND) * SCC_ASKS_PER_ROUND;
  const left: number[] = [];
  usage.forEach((u, i) => {
    if (u === null || u < roundStart) left.push(i);
  });
  return left;
}

/**
 * Choose the two index numbers to ask (SPEC D3), least recently asked first.
 *
 * Both are drawn at random among the cells not yet asked in the current round. Should the
 * record be inconsistent (fewer than two such cells, e.g. usage written by other code), the two
 * cells asked longest ago are taken instead, so a cell is still never asked twice in a row.
 */
export function pickIndexPair(usage: SccUsage, rng: RandomBytes = cryptoRandomBytes): [number, number] {
  const pool = cellsLeftInRound(usage);
  if (pool.length >= 2) {
    const first = pool.splice(randomIndex(pool.length, rng), 1)[0]!;
    const second = pool[randomIndex(pool.length, rng)]!;
    return [first + 1, second + 1];
  }
  // Strict least-recently-asked: the oldest cell, then the oldest of the rest (ties at random).
  const key = (i: number): number => usage[i] ?? -1;
  const oldest = (cells: number[]): number => {
    const min = Math.min(...cells.map(key));
    const ties = cells.filter((i) => key(i) === min);
    return ties[randomIndex(ties.length, rng)]!;
  };
  const all = usage.map((_, i) => i);
  const first = oldest(all);
  const second = oldest(all.filter((i) => i !== first));
  return [first + 1, second + 1];
}

/** A uniform index in [0, n) for any n up to 65 536, from bytes by rejection sampling. */
function randomIndex(n: number, rng: RandomBytes): number {
  if (n <= 256) return randomBelow(n, rng);
  const limit = 65536 - (65536 % n);
  for (;;) {
    const [hi, lo] = rng(2);
    const v = (hi! << 8) | lo!;
    if (v < limit) return v % n;
  }
}

/**
 * Record that a pair was asked: both cells get the next ask number.
 *
 * Call it when the challenge is issued, before any answer (the module doc says why). Returns a
 * new usage array; the given one is not changed.
 */
export function recordAsk(usage: SccUsage, pair: SccIndexPair): (number | null)[] {
  checkPair(pair);
  const n = nextAskNumber(usage);
  const next = [...usage];
  next[pair[0] - 1] = n;
  next[pair[1] - 1] = n;
  return next;
}

/** Cells not yet asked in the current round (224 on a fresh card or at the start of a round). */
export function unusedCellCount(usage: SccUsage): number {
  return cellsLeftInRound(usage).length;
}

/** Should the client warn that the card is nearly used up (SPEC D3)? */
export function isNearlyUsedUp(usage: SccUsage): boolean {
  return unusedCellCount(usage) < SCC_NEARLY_USED_UP_CELLS;
}

function checkPair(pair: SccIndexPair): void {
  const [i, j] = pair;
  for (const n of pair) {
    if (!Number.isInteger(n) || n < 1 || n > SCC_CELLS) throw new SccError(`SCC index numbers are 1–${SCC_CELLS}`);
  }
  if (i === j) throw new SccError('SCC index numbers of a pair must differ');
}

/**
 * Check the codes a user typed for a pair of index numbers, in constant time.
 *
 * Both codes in one field, in the asked order, without spaces (D3); spaces and lower case are
 * tolerated. The whole answer is compared at once, so timing never tells which code was wrong.
 */
export function verifySccResponse(cells: readonly string[], pair: SccIndexPair, response: string): boolean {
  checkPair(pair);
  if (cells.length !== SCC_CELLS) throw new SccError(`a Security Code Card has ${SCC_CELLS} cells`);
  const expected = cells[pair[0] - 1]! + cells[pair[1] - 1]!;
  return constantTimeEqual(expected, normalizeResponse('alphanumeric', response));
}
