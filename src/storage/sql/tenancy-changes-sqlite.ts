/**
 * Which tenancy rows changed, on SQLite: a change log kept by triggers. Every insert, update and
 * delete of a cached table (and of `tollgate_record_extras`) stamps the row's key in
 * `tollgate_row_changes` with the next sequence number, whoever writes it — this process, another
 * instance on the same file, the sqlite3 shell — so a refresh reads only the keys stamped since the
 * last one it saw. Triggers are used here and not on Postgres because a SQLite store is always
 * Tollgate's own (LiteLLM runs only on Postgres), so nothing else's schema is altered; they are
 * created on first use (`IF NOT EXISTS`), which also covers files made by an older Tollgate.
 *
 * The log holds one row per key (the last stamp), so it stays as large as the set of keys ever
 * written. Writers are serialized by SQLite and each stamp is taken inside the writing
 * transaction, so stamps commit in sequence order: a reader that has seen stamp n has seen all
 * below it.
 */
import { sql } from 'kysely';
import { EXTRAS_TABLE, FEED_TABLES, type ChangedRows, type ChangeSource, type RowKey } from './tenancy-feed.js';
import type { LooseDb } from './tenancy-db.js';

const LOG = 'tollgate_row_changes';

const quoteId = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteText = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** The two statements that stamp one key (`ref` is NEW or OLD): bump it, or add it when new. */
function stamp(table: string, k1: string, k2: string): string {
  const next = `(SELECT coalesce(max(seq), 0) + 1 FROM ${LOG})`;
  const match = `tbl = ${quoteText(table)} AND k1 = ${k1} AND k2 = ${k2}`;
  // Two statements and no upsert: an outer `INSERT OR IGNORE` would override a trigger's own
  // conflict clause, and the stamp must never be skipped.
  return `UPDATE ${LOG} SET seq = ${next} WHERE ${match};
    INSERT INTO ${LOG} (tbl, k1, k2, seq) SELECT ${quoteText(table)}, ${k1}, ${k2}, ${next} WHERE NOT EXISTS (SELECT 1 FROM ${LOG} WHERE ${match});`;
}

function triggers(table: string, keyColumns: readonly string[]): string[] {
  const k = (ref: 'NEW' | 'OLD', i: number): string => {
    const col = keyColumns[i];
    return col === undefined ? "''" : `coalesce(CAST(${ref}.${quoteId(col)} AS TEXT), '')`;
  };
  const name = (op: string): string => quoteId(`tollgate_chg_${table}_${op}`);
  return [
    `CREATE TRIGGER IF NOT EXISTS ${name('ins')} AFTER INSERT ON ${quoteId(table)} BEGIN ${stamp(table, k('NEW', 0), k('NEW', 1))} END`,
    // An update that changes the key stamps the old key too (its row is gone).
    `CREATE TRIGGER IF NOT EXISTS ${name('upd')} AFTER UPDATE ON ${quoteId(table)} BEGIN ${stamp(table, k('NEW', 0), k('NEW', 1))} ${stamp(table, k('OLD', 0), k('OLD', 1))} END`,
    `CREATE TRIGGER IF NOT EXISTS ${name('del')} AFTER DELETE ON ${quoteId(table)} BEGIN ${stamp(table, k('OLD', 0), k('OLD', 1))} END`,
  ];
}

export class SqliteChangeLog implements ChangeSource {
  /** The last stamp read; -1 before the first read. */
  private seq = -1;
  private readonly tableOfKind = new Map(FEED_TABLES.map((t) => [t.codec.kind as string, t.codec.table]));

  constructor(private readonly db: LooseDb) {}

  async changed(): Promise<{ rows: ChangedRows; commit: () => void }> {
    if (this.seq < 0) await this.install();
    // The stamp is read before the rows, so a write in between is read again next time, not missed.
    const top = await this.top();
    const commit = (): void => {
      this.seq = top;
    };
    // First read, or the log was emptied or the file replaced: everything.
    if (this.seq < 0 || top < this.seq) return { rows: 'all', commit };
    const out = new Map<string, RowKey[]>();
    if (top === this.seq) return { rows: out, commit };
    const rows = (await sql<{ tbl: string; k1: string; k2: string; seq: number }>`select tbl, k1, k2, seq from ${sql.table(LOG)} where seq > ${this.seq} and seq <= ${top}`.execute(this.db)).rows;
    for (const r of rows) {
      // An extras doc belongs to the record of its kind; its key is the record's id.
      const table = r.tbl === EXTRAS_TABLE ? this.tableOfKind.get(r.k1) : r.tbl;
      if (table === undefined) continue;
      const key = r.tbl === EXTRAS_TABLE ? [r.k2] : r.k2 === '' ? [r.k1] : [r.k1, r.k2];
      const list = out.get(table) ?? [];
      list.push(key);
      out.set(table, list);
    }
    return { rows: out, commit };
  }

  private async top(): Promise<number> {
    const row = (await sql<{ top: number | null }>`select max(seq) as top from ${sql.table(LOG)}`.execute(this.db)).rows[0];
    return Number(row?.top ?? 0);
  }

  private async install(): Promise<void> {
    await sql`create table if not exists ${sql.table(LOG)} (tbl text not null, k1 text not null, k2 text not null default '', seq integer not null, primary key (tbl, k1, k2))`.execute(this.db);
    await sql`create index if not exists ${sql.raw(quoteId(`${LOG}_seq_idx`))} on ${sql.table(LOG)} (seq)`.execute(this.db);
    const ddl = [...FEED_TABLES.flatMap((t) => triggers(t.codec.table, t.codec.key)), ...triggers(EXTRAS_TABLE, ['kind', 'id'])];
    for (const statement of ddl) await sql.raw(statement).execute(this.db);
  }
}
