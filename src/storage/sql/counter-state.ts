/**
 * SharedState in Postgres, for several instances on one database without Redis: exact, slower.
 * Each `admit` and `add` is one transaction that first takes a transaction-scoped advisory lock
 * per counter (in one global order — by the key's 64-bit hash — so two admissions can never wait
 * on each other in a cycle), then reads the counters, decides with the same rules as the memory
 * state (counter-rules.ts), and writes the increments back with one upsert. Locks are advisory
 * rather than row locks so a counter nobody has written yet (no row) is locked too.
 *
 * Rows live in `tollgate_shared_counters` (key, value, expires_at); an expired row reads as 0 and
 * is deleted by a sweep. Values are double precision: integers (nano-USD, tokens, requests) are
 * exact up to 2^53.
 */
import { sql, type Kysely } from 'kysely';
import { incremented, live, refuses, type CounterEntry } from '../counter-rules.js';
import type { AdmitOutcome, CounterCheck, CounterIncrement, SharedState } from '../shared-state.js';

export const COUNTERS_TABLE = 'tollgate_shared_counters';
const SWEEP_MS = 60_000;

interface Row {
  key: string;
  value: number;
  expires_at: string | number | null;
}

export class PostgresSharedState implements SharedState {
  readonly shared = true;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_MS);
    this.timer.unref();
  }

  admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    const keys = [...checks.flatMap((c) => c.read), ...increments.map((i) => i.key)];
    return this.locked<AdmitOutcome>(keys, (entries, now) => {
      const value = (key: string): number => live(entries.get(key), now)?.value ?? 0;
      const sums = checks.map((c) => c.read.reduce((total, key) => total + value(key), 0));
      const failed = checks.findIndex((c, i) => refuses(c, sums[i] ?? 0));
      if (failed >= 0) return { result: { ok: false, failed, sums }, writes: [] };
      return { result: { ok: true, sums }, writes: applyAll(entries, increments, now) };
    });
  }

  add(increments: readonly CounterIncrement[]): Promise<number[]> {
    if (increments.length === 0) return Promise.resolve([]);
    return this.locked(
      increments.map((i) => i.key),
      (entries, now) => {
        const writes = applyAll(entries, increments, now);
        return { result: increments.map((i) => entries.get(i.key)?.value ?? 0), writes };
      },
    );
  }

  async get(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const entries = await this.read(this.db, [...new Set(keys)]);
    const now = this.now();
    return keys.map((k) => live(entries.get(k), now)?.value ?? 0);
  }

  async set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.write(
      this.db,
      entries.map((e) => [e.key, { value: e.value, expiresAt: e.expiresAt }]),
    );
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }

  /** Lock `keys`, read them, let `decide` compute, write what it returns; one transaction. */
  private locked<T>(keys: readonly string[], decide: (entries: Map<string, CounterEntry>, now: number) => { result: T; writes: [string, CounterEntry][] }): Promise<T> {
    const unique = [...new Set(keys)];
    return this.db.transaction().execute(async (trx) => {
      // The ORDER BY in the subquery fixes the order the locks are taken in.
      await sql`SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h FROM unnest(${unique}::text[]) AS k ORDER BY 1) AS ordered`.execute(trx);
      const entries = await this.read(trx, unique);
      const { result, writes } = decide(entries, this.now());
      await this.write(trx, writes);
      return result;
    });
  }

  private async read(db: Kysely<unknown>, keys: readonly string[]): Promise<Map<string, CounterEntry>> {
    const { rows } = await sql<Row>`SELECT key, value, expires_at FROM ${sql.table(COUNTERS_TABLE)} WHERE key = ANY(${keys}::text[])`.execute(db);
    return new Map(rows.map((r) => [r.key, { value: Number(r.value), expiresAt: r.expires_at === null ? undefined : Number(r.expires_at) }]));
  }

  private async write(db: Kysely<unknown>, writes: readonly [string, CounterEntry][]): Promise<void> {
    if (writes.length === 0) return;
    const keys = writes.map(([k]) => k);
    const values = writes.map(([, e]) => e.value);
    const expiries = writes.map(([, e]) => (e.expiresAt === undefined ? null : Math.round(e.expiresAt)));
    await sql`INSERT INTO ${sql.table(COUNTERS_TABLE)} (key, value, expires_at)
      SELECT * FROM unnest(${keys}::text[], ${values}::float8[], ${expiries}::int8[])
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`.execute(db);
  }

  private async sweep(): Promise<void> {
    await sql`DELETE FROM ${sql.table(COUNTERS_TABLE)} WHERE expires_at IS NOT NULL AND expires_at <= ${this.now()}`.execute(this.db);
  }
}

/** Apply the increments in order to `entries` (updated in place); the final entry of each key written. */
function applyAll(entries: Map<string, CounterEntry>, increments: readonly CounterIncrement[], now: number): [string, CounterEntry][] {
  for (const inc of increments) entries.set(inc.key, incremented(live(entries.get(inc.key), now), inc));
  return [...new Set(increments.map((i) => i.key))].map((k) => [k, entries.get(k) ?? { value: 0, expiresAt: undefined }]);
}
