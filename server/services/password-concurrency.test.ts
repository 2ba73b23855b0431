// concurrencyLimit and argon2idHasher's bound on simultaneous hashes (SPEC N1: memory; SPEC A3, L1).
import { describe, expect, it } from 'vitest';
import { argon2idHasher, concurrencyLimit, hashesInFlight, hashingThreads } from './passwords.ts';

/** A task that runs until released, recording when it started. */
function gate(started: number[], id: number) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { task: async () => (started.push(id), await done, id), release: () => release() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('concurrencyLimit (SPEC N1: argon2id hashes bounded by cores)', () => {
  it('runs at most `limit` tasks at once, the rest in arrival order', async () => {
    const limited = concurrencyLimit(2);
    const started: number[] = [];
    const gates = [0, 1, 2, 3].map((i) => gate(started, i));
    const results = gates.map((g) => limited(g.task));
    await tick();
    expect(started).toEqual([0, 1]);
    expect(limited.load()).toEqual({ inFlight: 2, waiting: 2 }); // what the metrics report
    gates[1]!.release();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(limited.load()).toEqual({ inFlight: 2, waiting: 1 });
    gates[0]!.release();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.release();
    gates[3]!.release();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3]);
    expect(limited.load()).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('frees the slot of a task that fails', async () => {
    const limited = concurrencyLimit(1);
    await expect(limited(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limited(async () => 'next')).resolves.toBe('next');
  });

  it('rejects a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => concurrencyLimit(bad)).toThrow(RangeError);
  });
});

describe('argon2idHasher with one hash at a time (SPEC A3, L1)', () => {
  it('still verifies, rejects wrong passwords and unknown users', async () => {
    const h = argon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }, 1);
    const stored = await h.hash('right password');
    const answers = await Promise.all([h.verify(stored, 'right password'), h.verify(stored, 'wrong'), h.verifyUnknownUser('x'), h.verify('not a hash', 'x')]);
    expect(answers).toEqual([true, false, false, false]);
  });
});

describe('hashingThreads: argon2id at once = cores, bounded by libuv\'s pool (issues 2, 7)', () => {
  it('is one per core when the pool has a thread per core or more', () => {
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '2' }, 2)).toBe(2);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '16' }, 8)).toBe(8);
    // Node's default pool of 4 when nothing sized it (slsd started without bin/slsd.cjs).
    expect(hashingThreads({}, 2)).toBe(2);
    expect(hashingThreads({}, 8)).toBe(4);
  });

  it('never runs more hashes than the pool has threads, read as libuv reads the variable', () => {
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '1' }, 8)).toBe(1);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: ' 3threads' }, 8)).toBe(3); // atoi
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '0' }, 8)).toBe(1);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: 'many' }, 8)).toBe(1);
    expect(hashingThreads({ UV_THREADPOOL_SIZE: '-1' }, 8)).toBe(8); // unsigned in libuv: 1024 threads
  });
});

describe('hashesInFlight: one more waits in libuv\'s queue only where it cannot run beside the others (issue 2)', () => {
  it('is one per hashing thread plus one when the pool has exactly that many threads (bin/slsd.cjs sizes it so)', () => {
    expect(hashesInFlight({ UV_THREADPOOL_SIZE: '2' }, 2)).toBe(3);
    expect(hashesInFlight({ UV_THREADPOOL_SIZE: '8' }, 8)).toBe(9);
    expect(hashesInFlight({ UV_THREADPOOL_SIZE: '1' }, 8)).toBe(2);
  });

  it('adds none when the pool has spare threads: the extra hash would run at once, another 19 MiB and no faster', () => {
    expect(hashesInFlight({ UV_THREADPOOL_SIZE: '16' }, 8)).toBe(8);
    expect(hashesInFlight({}, 2)).toBe(2);
    expect(hashesInFlight({ UV_THREADPOOL_SIZE: '3' }, 2)).toBe(2);
  });
});
