/**
 * Which tenancy rows changed, on Postgres: fingerprints computed by the database. A LiteLLM-made
 * database is served as is, so nothing is added to its tables (no triggers, no columns), and
 * `updated_at` cannot be trusted (Prisma sets it client-side; a direct `UPDATE` leaves it). So the
 * database hashes what it holds: first one md5 per table (and per kind of extras doc), over every
 * row's text form in key order; for a table whose hash moved, one per bucket of rows (256, by the
 * md5 of the key); only the buckets that moved are listed as (key, md5 of the row), and only rows
 * whose md5 differs from the one seen last are fetched. A row no longer listed is gone. The hashing
 * runs in Postgres: when nothing changed the process receives one short row per table, and a few
 * changed rows cost a few buckets' listing, not the table's (Tollgate's own spend write-backs
 * change the rows of the entities spending, every flush).
 */
import { sql, type RawBuilder } from 'kysely';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { EXTRAS_TABLE, FEED_TABLES, type ChangedRows, type ChangeSource, type FeedTable, type RowKey } from './tenancy-feed.js';
import type { LooseDb } from './tenancy-db.js';

const SEP = '\u0000';

/** Rows are grouped by the first two hex digits of their key's md5: 256 buckets per table. */
const BUCKET_CHARS = 2;

interface Listed {
  key: RowKey;
  bucket: string;
  print: string;
}

/** One fingerprinted relation: a cached table, or one kind of extras docs. */
interface Relation {
  name: string;
  table: string;
  keys: readonly string[];
  /** Extras of one kind: `kind = …`. */
  kind?: string;
}

interface Seen {
  hash: string;
  buckets: Map<string, string>;
  /** md5 of each row, by bucket, by joined key. */
  rows: Map<string, Map<string, string>>;
}

export class PostgresFingerprints implements ChangeSource {
  private readonly seen = new Map<string, Seen>();
  private first = true;
  private readonly relations: { feed: FeedTable; rel: Relation }[] = FEED_TABLES.flatMap((t) => {
    const table = { feed: t, rel: { name: t.codec.table, table: t.codec.table, keys: t.codec.key } };
    // Extras docs belong to single-key records (memberships have none).
    if (t.codec.key.length !== 1) return [table];
    return [table, { feed: t, rel: { name: `extras:${t.codec.kind}`, table: EXTRAS_TABLE, keys: ['id'], kind: t.codec.kind } }];
  });

  constructor(private readonly db: LooseDb) {}

  async changed(): Promise<{ rows: ChangedRows; commit: () => void }> {
    const hashes = await this.hashes();
    const out = new Map<string, RowKey[]>();
    const commits: (() => void)[] = [];
    for (const { feed, rel } of this.relations) {
      const hash = hashes.get(rel.name) ?? '';
      const before = this.seen.get(rel.name);
      if (before?.hash === hash) continue;
      await yieldLoop();
      const list = out.get(feed.codec.table) ?? [];
      out.set(feed.codec.table, list);
      commits.push(await this.compare(rel, hash, before, (key) => list.push(key)));
    }
    const commit = (): void => {
      this.first = false;
      for (const c of commits) c();
    };
    // The fingerprints are taken before the rows are read: a write in between shows next time.
    return { rows: this.first ? 'all' : out, commit };
  }

  /**
   * A relation whose hash moved: find the buckets that moved, list their rows, and report each
   * row that is new, changed or gone. Returns what keeps the new fingerprints once the rows are read.
   */
  private async compare(rel: Relation, hash: string, before: Seen | undefined, changed: (key: RowKey) => void): Promise<() => void> {
    const buckets = await this.bucketHashes(rel);
    const moved = new Set<string>();
    for (const [b, h] of buckets) if (before?.buckets.get(b) !== h) moved.add(b);
    for (const b of before?.buckets.keys() ?? []) if (!buckets.has(b)) moved.add(b);
    await yieldLoop();
    const listed = moved.size === 0 ? [] : await this.listRows(rel, before === undefined ? undefined : [...moved]);
    const after = new Map<string, Map<string, string>>([...moved].map((b) => [b, new Map<string, string>()]));
    for (const { key, bucket, print } of listed) {
      const id = key.join(SEP);
      after.get(bucket)?.set(id, print);
      if (before?.rows.get(bucket)?.get(id) !== print) changed(key);
    }
    for (const b of moved) {
      const now = after.get(b);
      for (const id of before?.rows.get(b)?.keys() ?? []) if (now?.has(id) !== true) changed(id.split(SEP));
    }
    return () => {
      const seen = this.seen.get(rel.name) ?? { hash: '', buckets: new Map<string, string>(), rows: new Map<string, Map<string, string>>() };
      seen.hash = hash;
      seen.buckets = buckets;
      for (const [b, rows] of after) {
        if (rows.size === 0) seen.rows.delete(b);
        else seen.rows.set(b, rows);
      }
      this.seen.set(rel.name, seen);
    };
  }

  /** One md5 per relation, in one round trip. */
  private async hashes(): Promise<Map<string, string>> {
    const parts = this.relations.map(({ rel }) => sql`select ${rel.name} as name, md5(coalesce(string_agg(md5(x::text), '' order by ${this.order(rel)}), '')) as hash from ${sql.table(rel.table)} x ${this.where(rel)}`);
    const rows = (await sql<{ name: string; hash: string }>`${sql.join(parts, sql` union all `)}`.execute(this.db)).rows;
    return new Map(rows.map((r) => [r.name, r.hash]));
  }

  private async bucketHashes(rel: Relation): Promise<Map<string, string>> {
    const rows = (await sql<{ b: string; hash: string }>`select ${this.bucket(rel)} as b, md5(string_agg(md5(x::text), '' order by ${this.order(rel)})) as hash from ${sql.table(rel.table)} x ${this.where(rel)} group by 1`.execute(this.db)).rows;
    return new Map(rows.map((r) => [r.b, r.hash]));
  }

  /** (key, md5) of the rows in `buckets` (all rows when undefined). */
  private async listRows(rel: Relation, buckets: string[] | undefined): Promise<Listed[]> {
    const cols = rel.keys.map((k, i) => sql`x.${sql.ref(k)}::text as ${sql.ref(`k${i}`)}`);
    const inBuckets = buckets === undefined ? sql`` : sql`and ${this.bucket(rel)} in (${sql.join(buckets)})`;
    const rows = (await sql<Record<string, string>>`select ${sql.join(cols)}, ${this.bucket(rel)} as b, md5(x::text) as print from ${sql.table(rel.table)} x ${this.where(rel)} ${inBuckets}`.execute(this.db)).rows;
    return rows.map((r) => ({ key: rel.keys.map((_k, i) => r[`k${i}`] ?? ''), bucket: r.b ?? '', print: r.print ?? '' }));
  }

  private order(rel: Relation): RawBuilder<unknown> {
    return sql.join(rel.keys.map((k) => sql`x.${sql.ref(k)}`));
  }

  private bucket(rel: Relation): RawBuilder<unknown> {
    const key = sql.join(
      rel.keys.map((k) => sql`x.${sql.ref(k)}::text`),
      sql` || ':' || `,
    );
    return sql`substr(md5(${key}), 1, ${sql.lit(BUCKET_CHARS)})`;
  }

  private where(rel: Relation): RawBuilder<unknown> {
    return rel.kind === undefined ? sql`where true` : sql`where x.kind = ${rel.kind}`;
  }
}
