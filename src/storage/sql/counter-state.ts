/**
 * SharedState in Postgres, for several instances on one database without Redis: exact, slower.
 * Each `admit` and `add` is one call of a database function (counter-function.ts: one round trip,
 * its own transaction) that takes a transaction-scoped advisory lock per counter in one global
 * order — by the key's 64-bit hash, so two admissions never wait on each other in a cycle — reads
 * the counters, decides with the memory state's rules (counter-rules.ts, mirrored in PL/pgSQL) and
 * writes the increments back with one upsert. Locks are advisory rather than row locks so a
 * counter nobody has written yet (no row) is locked too; they are held only while the function runs.
 *
 * Rows live in `tollgate_shared_counters` (key, value, expires_at); an expired row reads as 0 and
 * is deleted by a sweep. Values are double precision: integers (nano-USD, tokens, requests) are
 * exact up to 2^53.
 */
import { sql, type Kysely } from 'kysely';
import { live, type CounterEntry } from '../counter-rules.js';
import { APPLY_FUNCTION } from './counter-function.js';
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

  async admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    const keys = new KeyIndex();
    const c = checks.map((check) => [check.read.map((k) => keys.of(k)), check.limit, check.incoming, check.refuse === 'reached' ? 1 : 0]);
    const r = await this.apply(keys, { c, i: this.spec(keys, increments) }, true);
    return r.ok ? { ok: true, sums: r.sums } : { ok: false, failed: r.failed, sums: r.sums };
  }

  async add(increments: readonly CounterIncrement[]): Promise<number[]> {
    if (increments.length === 0) return [];
    const keys = new KeyIndex();
    return (await this.apply(keys, { c: [], i: this.spec(keys, increments) }, false)).values;
  }

  async get(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const entries = await this.read(this.db, [...new Set(keys)]);
    const now = this.now();
    return keys.map((k) => live(entries.get(k), now)?.value ?? 0);
  }

  async set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void> {
    if (entries.length === 0) return;
    // One row per key per upsert (Postgres refuses to touch a row twice in one); the last entry wins, as elsewhere.
    const last = new Map(entries.map((e) => [e.key, { value: e.value, expiresAt: e.expiresAt }]));
    // Under the counters' locks, or an admission running meanwhile would write its old sum back over this.
    await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h FROM unnest(${[...last.keys()]}::text[]) AS k ORDER BY 1) AS ordered`.execute(trx);
      await this.write(trx, [...last]);
    });
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return Promise.resolve();
  }

  private spec(keys: KeyIndex, increments: readonly CounterIncrement[]): (number | string)[][] {
    return increments.map((inc) => [keys.of(inc.key), inc.amount, inc.expiresAt === undefined ? -1 : Math.round(inc.expiresAt)]);
  }

  /** One call of the database function: lock, read, check, apply, write; one round trip. */
  private async apply(keys: KeyIndex, spec: object, check: boolean): Promise<{ ok: boolean; failed?: number; sums: number[]; values: number[] }> {
    const { rows } = await sql<{ r: { ok: boolean; failed?: number; sums: number[]; values?: number[] } }>`SELECT ${sql.raw(APPLY_FUNCTION)}(${keys.list}::text[], ${JSON.stringify(spec)}::jsonb, ${this.now()}::int8, ${check}) AS r`.execute(this.db);
    const r = rows[0]?.r;
    if (r === undefined) throw new Error('tollgate_counters_apply returned nothing');
    return { ok: r.ok, failed: r.failed, sums: r.sums.map(Number), values: (r.values ?? []).map(Number) };
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

/** The keys of one call, each once, as 1-based indexes into the array passed to the function. */
class KeyIndex {
  readonly list: string[] = [];
  private readonly seen = new Map<string, number>();

  of(key: string): number {
    let at = this.seen.get(key);
    if (at === undefined) {
      this.list.push(key);
      at = this.list.length;
      this.seen.set(key, at);
    }
    return at;
  }
}
