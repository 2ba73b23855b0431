/**
 * Statements built and compiled by Kysely once per dialect, then run many times with new values.
 *
 * Why (issue 2): on the login path Kysely spent more of slsd's main thread building and compiling
 * each statement (expression builders, operation-node visitors, the compiler) than SQLite spent
 * running it, and under argon2id the main thread's work per login is what separates slsd from raw
 * hashing. A prepared statement is built with stand-ins for its values (one unique symbol per
 * parameter), compiled once, and each run only swaps the stand-ins for the values: the SQL text is
 * the same every time, so better-sqlite3's statement cache (connect.ts) and PostgreSQL see one
 * statement.
 *
 * Rules for `build`: it must put each stand-in where a value goes (a comparison, an insert's values,
 * a set clause) and never look at one (no `if`, no arithmetic on it), so that one compiled form fits
 * every value. `prepared` checks that every stand-in became a parameter; the statement's own
 * constants stay as compiled.
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import { isSqliteBusy, sqliteConnectionOf } from './connect.ts';
import type { Database } from './schema.ts';
import { nameStatement } from './statement-names.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Stand-ins have the types of the values they stand for, so `build` type-checks like normal code. */
export type PreparedRun<A extends readonly unknown[], R> = (db: Db, ...args: A) => Promise<QueryResult<R>>;

export function prepared<A extends readonly unknown[], R>(name: string, build: (db: Db, ...params: A) => Compilable<R>): PreparedRun<A, R> {
  // The compiled form depends only on the dialect's query compiler; the adapter object identifies it
  // (a transaction shares its database's adapter).
  const cache = new WeakMap<object, { compiled: CompiledQuery<R>; slots: readonly number[] }>();
  let stands: symbol[] | null = null;

  function compile(db: Db, arity: number) {
    stands ??= Array.from({ length: arity }, (_, i) => Symbol(`${name}: parameter ${i}`));
    const compiled = build(db, ...(stands as unknown as A)).compile();
    const index = new Map(stands.map((s, i) => [s, i]));
    // A slot is the index of the argument that fills it, or -1 for a constant of the statement
    // itself ('active', a literal limit), which stays as compiled.
    const slots = compiled.parameters.map((p) => (typeof p === 'symbol' ? (index.get(p) ?? -1) : -1));
    for (let i = 0; i < arity; i++) if (!slots.includes(i)) throw new Error(`prepared ${name}: argument ${i} never reached the SQL`);
    // On PostgreSQL, parsed and planned once per connection (statement-names.ts).
    nameStatement(compiled.sql);
    return { compiled, slots };
  }

  return async (db, ...args) => {
    const key = db.getExecutor().adapter;
    let entry = cache.get(key);
    if (!entry) {
      entry = compile(db, args.length);
      cache.set(key, entry);
    }
    const { compiled, slots } = entry;
    const parameters = slots.map((s, i) => (s < 0 ? compiled.parameters[i] : args[s]));
    const sqlite = sqliteConnectionOf(db as Kysely<Database>);
    // On SQLite outside any transaction, straight on better-sqlite3 (synchronous, so nothing can
    // interleave): Kysely's driver adds a connection lock and promise chain per statement. While a
    // Kysely transaction is open on the connection (an async callback between its statements), a
    // statement run here would land inside it: it queues behind it through Kysely instead.
    if (sqlite && !sqlite.inTransaction) {
      try {
        const stmt = sqlite.prepare(compiled.sql);
        if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
        const { changes, lastInsertRowid } = stmt.run(parameters);
        return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
      } catch (err) {
        // Another writer holds the database (it did nothing here): wait for it through Kysely's
        // driver, which tries again on timers (connect.ts), not on the event loop.
        if (!isSqliteBusy(err)) throw err;
      }
    }
    return db.executeQuery<R>({ ...compiled, parameters });
  };
}
