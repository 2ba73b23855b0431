import { describe, expect, it } from 'vitest';
import type { RandomBytes } from './codes.ts';
import {
  generateSecurityCodeCard,
  isNearlyUsedUp,
  newSccUsage,
  nextAskNumber,
  pickIndexPair,
  recordAsk,
  SCC_ALPHABET,
  SCC_ASKS_PER_ROUND,
  SCC_CELLS,
  SCC_NEARLY_USED_UP_CELLS,
  SccError,
  unusedCellCount,
  verifySccResponse,
} from './scc.ts';

/** A seeded, deterministic byte source (xorshift32). */
function seeded(seed: number): RandomBytes {
  let x = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** Run `asks` logins on a fresh card; returns the pairs asked and the final usage. */
function runAsks(asks: number, rng: RandomBytes): { pairs: [number, number][]; usage: (number | null)[] } {
  let usage = newSccUsage();
  const pairs: [number, number][] = [];
  for (let k = 0; k < asks; k++) {
    const pair = pickIndexPair(usage, rng);
    pairs.push(pair);
    usage = recordAsk(usage, pair);
  }
  return { pairs, usage };
}

describe('generateSecurityCodeCard (SPEC D3)', () => {
  it('has 224 cells of 3 characters from digits and capital letters, without 0 O 1 I', () => {
    const card = generateSecurityCodeCard();
    expect(SCC_CELLS).toBe(224);
    expect(card.cells).toHaveLength(224);
    for (const c of card.cells) expect(c).toMatch(/^[2-9A-HJ-NP-Z]{3}$/);
    expect(SCC_ALPHABET).toHaveLength(32);
    expect(SCC_ALPHABET).not.toMatch(/[01IO]/);
  });

  it('is random: two cards differ, and the same seed gives the same card', () => {
    expect(generateSecurityCodeCard().cells).not.toEqual(generateSecurityCodeCard().cells);
    expect(generateSecurityCodeCard(seeded(7)).cells).toEqual(generateSecurityCodeCard(seeded(7)).cells);
  });

  it('uses every symbol about equally often', () => {
    const counts = new Map<string, number>();
    for (let k = 0; k < 20; k++) {
      for (const c of generateSecurityCodeCard(seeded(1000 + k)).cells.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // 20 cards × 672 symbols / 32 = 420 each; 5 standard deviations ≈ 100.
    expect(counts.size).toBe(32);
    for (const n of counts.values()) expect(Math.abs(n - 420)).toBeLessThan(100);
  });
});

describe('pickIndexPair: least recently asked first (SPEC D3, NIST SP 800-63B-4 §3.1.2)', () => {
  it('asks two distinct index numbers in 1–224', () => {
    const rng = seeded(3);
    for (let k = 0; k < 200; k++) {
      const [i, j] = pickIndexPair(newSccUsage(), rng);
      expect(i).not.toBe(j);
      for (const n of [i, j]) expect(n >= 1 && n <= 224).toBe(true);
    }
  });

  it('asks every cell exactly once in 112 logins: no cell repeats before the whole card has been used', () => {
    const { pairs, usage } = runAsks(SCC_ASKS_PER_ROUND, seeded(42));
    const asked = pairs.flat();
    expect(asked).toHaveLength(224);
    expect(new Set(asked).size).toBe(224);
    expect(usage.every((u) => u !== null)).toBe(true);
  });

  it('keeps the rule in every later round, and pairs the cells differently each round', () => {
    const { pairs } = runAsks(3 * SCC_ASKS_PER_ROUND, seeded(99));
    const rounds = [0, 1, 2].map((r) => pairs.slice(r * 112, (r + 1) * 112));
    for (const round of rounds) expect(new Set(round.flat()).size).toBe(224);
    const key = (p: [number, number]): string => [...p].sort((a, b) => a - b).join('-');
    const first = new Set(rounds[0]!.map(key));
    const repeated = rounds[1]!.filter((p) => first.has(key(p))).length;
    // Random re-pairing: about 112 / 223 ≈ 0.5 pairs repeat by chance.
    expect(repeated).toBeLessThan(5);
  });

  it('never asks a cell asked in the current round, even when only two are left', () => {
    const { usage } = runAsks(SCC_ASKS_PER_ROUND - 1, seeded(5));
    const left = usage.flatMap((u, i) => (u === null ? [i + 1] : []));
    expect(left).toHaveLength(2);
    expect([...pickIndexPair(usage, seeded(6))].sort((a, b) => a - b)).toEqual(left);
  });

  it('spreads the first asks over the whole card', () => {
    const rng = seeded(11);
    const hits = new Array<number>(224).fill(0);
    for (let k = 0; k < 22_400; k++) for (const n of pickIndexPair(newSccUsage(), rng)) hits[n - 1]!++;
    // 200 expected per cell; 5 standard deviations ≈ 71.
    for (const h of hits) expect(Math.abs(h - 200)).toBeLessThan(71);
  });

  it('falls back to the cells asked longest ago when the record is inconsistent', () => {
    // Written by other code: asks 150 and 160 are not of the current round (112–223), but no
    // cell is left unasked in it. The two oldest are taken, oldest first.
    const usage = new Array<number | null>(224).fill(200);
    usage[9] = 150;
    usage[19] = 160;
    expect(pickIndexPair(usage, seeded(1))).toEqual([10, 20]);
    // Only cell 10 is left in the round: it is asked, with one of the others.
    const one = new Array<number | null>(224).fill(112);
    one[9] = 3;
    const [i, j] = pickIndexPair(one, seeded(2));
    expect(i).toBe(10);
    expect(j).not.toBe(10);
  });

  it('refuses a usage record of the wrong size or with bad entries', () => {
    expect(() => pickIndexPair(new Array<null>(223).fill(null))).toThrow(SccError);
    const bad = newSccUsage();
    bad[0] = -1;
    expect(() => pickIndexPair(bad)).toThrow(SccError);
    bad[0] = 1.5;
    expect(() => unusedCellCount(bad)).toThrow(SccError);
  });
});

describe('recordAsk, unusedCellCount, isNearlyUsedUp', () => {
  it('gives both cells the next ask number and leaves the input unchanged', () => {
    const usage = newSccUsage();
    const after = recordAsk(usage, [5, 200]);
    expect(usage.every((u) => u === null)).toBe(true);
    expect(after[4]).toBe(0);
    expect(after[199]).toBe(0);
    expect(nextAskNumber(after)).toBe(1);
    expect(recordAsk(after, [1, 2])[0]).toBe(1);
  });

  it('counts the cells left in the round, back to 224 when a new round starts', () => {
    expect(unusedCellCount(newSccUsage())).toBe(224);
    expect(unusedCellCount(runAsks(10, seeded(8)).usage)).toBe(204);
    expect(unusedCellCount(runAsks(111, seeded(8)).usage)).toBe(2);
    expect(unusedCellCount(runAsks(112, seeded(8)).usage)).toBe(224);
    expect(unusedCellCount(runAsks(113, seeded(8)).usage)).toBe(222);
  });

  it(`warns when fewer than ${SCC_NEARLY_USED_UP_CELLS} cells are left in the round`, () => {
    // 102 asks leave 20 cells: no warning yet; 103 leave 18.
    expect(isNearlyUsedUp(runAsks(102, seeded(9)).usage)).toBe(false);
    expect(isNearlyUsedUp(runAsks(103, seeded(9)).usage)).toBe(true);
    expect(isNearlyUsedUp(newSccUsage())).toBe(false);
  });

  it('refuses index numbers out of range or equal', () => {
    expect(() => recordAsk(newSccUsage(), [0, 5])).toThrow(SccError);
    expect(() => recordAsk(newSccUsage(), [5, 225])).toThrow(SccError);
    expect(() => recordAsk(newSccUsage(), [7, 7])).toThrow(SccError);
  });
});

describe('verifySccResponse (SPEC D3)', () => {
  const card = generateSecurityCodeCard(seeded(77));
  const pair: [number, number] = [17, 203];
  const right = card.cells[16]! + card.cells[202]!;

  it('accepts both codes in one field, in the asked order', () => {
    expect(verifySccResponse(card.cells, pair, right)).toBe(true);
  });

  it('tolerates lower case and spaces', () => {
    expect(verifySccResponse(card.cells, pair, ` ${right.slice(0, 3).toLowerCase()} ${right.slice(3)} `)).toBe(true);
  });

  it('rejects the codes swapped, one code alone, a wrong character and extra characters', () => {
    expect(verifySccResponse(card.cells, pair, right.slice(3) + right.slice(0, 3))).toBe(right.slice(3) === right.slice(0, 3));
    expect(verifySccResponse(card.cells, pair, right.slice(0, 3))).toBe(false);
    const last = right[5] === 'Z' ? 'Y' : 'Z';
    expect(verifySccResponse(card.cells, pair, right.slice(0, 5) + last)).toBe(false);
    expect(verifySccResponse(card.cells, pair, `${right}2`)).toBe(false);
    expect(verifySccResponse(card.cells, pair, '')).toBe(false);
  });

  it('refuses bad index numbers and a card of the wrong size', () => {
    expect(() => verifySccResponse(card.cells, [0, 1], right)).toThrow(SccError);
    expect(() => verifySccResponse(card.cells, [3, 3], right)).toThrow(SccError);
    expect(() => verifySccResponse(card.cells.slice(1), pair, right)).toThrow(SccError);
  });
});
