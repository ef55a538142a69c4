/**
 * Migration 0003: LiteLLM's own tables become the store (see `litellm-tables.ts`).
 *
 * On an empty database it creates them as LiteLLM's Prisma migrations would (Postgres: the same
 * types; SQLite: portable ones). On a database a LiteLLM proxy created it never alters or drops
 * anything: a missing table is created and a missing column added, nothing else. A NOT NULL
 * column without a default is added as nullable (rows already there could not satisfy it).
 *
 * Then Tollgate's own side table (`tollgate_record_extras`: record fields LiteLLM has no column
 * for), and a one-time copy of the records an older Tollgate kept in `tenancy_records`.
 */
import { sql, type Kysely } from 'kysely';
import type { ColumnDef, ColumnKind, TableDef } from './litellm-tables.js';
import { LITELLM_TABLES } from './litellm-tables.js';

type Dialect = 'sqlite' | 'postgres';

const PG_TYPES: Record<ColumnKind, string> = {
  text: 'TEXT',
  float: 'DOUBLE PRECISION',
  int: 'INTEGER',
  bigint: 'BIGINT',
  bool: 'BOOLEAN',
  time: 'TIMESTAMP(3)',
  json: 'JSONB',
  list: 'TEXT[]',
  serial: 'SERIAL',
};

const SQLITE_TYPES: Record<ColumnKind, string> = {
  text: 'TEXT',
  float: 'REAL',
  int: 'INTEGER',
  bigint: 'INTEGER',
  bool: 'INTEGER',
  time: 'TEXT',
  json: 'TEXT',
  list: 'TEXT',
  serial: 'INTEGER',
};

function defaultSql(dialect: Dialect, col: ColumnDef): string | undefined {
  const pg = dialect === 'postgres';
  switch (col.default) {
    case undefined:
      return undefined;
    case 'now':
      return pg ? 'CURRENT_TIMESTAMP' : `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
    case 'empty_json':
      return `'{}'`;
    case 'empty_json_array':
      return `'[]'`;
    case 'empty_list':
      return pg ? 'ARRAY[]::TEXT[]' : `'[]'`;
    case 'false':
      return pg ? 'false' : '0';
    case 'true':
      return pg ? 'true' : '1';
    case 'zero':
      return col.kind === 'float' ? '0.0' : '0';
    case 'empty_text':
      return `''`;
  }
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The column as it appears in CREATE TABLE / ADD COLUMN. `forceNullable` for columns added later. */
export function columnSql(dialect: Dialect, col: ColumnDef, forceNullable = false): string {
  const type = (dialect === 'postgres' ? PG_TYPES : SQLITE_TYPES)[col.kind];
  const def = defaultSql(dialect, col);
  const notNull = col.notNull === true && !(forceNullable && def === undefined);
  return `${q(col.name)} ${type}${notNull ? ' NOT NULL' : ''}${def === undefined ? '' : ` DEFAULT ${def}`}`;
}

export function createTableSql(dialect: Dialect, table: TableDef): string {
  const cols = table.columns.map((col) => `    ${columnSql(dialect, col)}`);
  const pk = `    CONSTRAINT ${q(`${table.name}_pkey`)} PRIMARY KEY (${table.primaryKey.map(q).join(', ')})`;
  return `CREATE TABLE IF NOT EXISTS ${q(table.name)} (\n${[...cols, pk].join(',\n')}\n)`;
}

/** Tables (of the schema we run in) and their columns. */
export async function liveColumns(db: Kysely<unknown>, dialect: Dialect): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const rows =
    dialect === 'postgres'
      ? (await sql<{ t: string; c: string }>`select table_name as t, column_name as c from information_schema.columns where table_schema = current_schema()`.execute(db)).rows
      : (await sql<{ t: string; c: string }>`select m.name as t, p.name as c from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table'`.execute(db)).rows;
  for (const { t, c } of rows) {
    let set = out.get(t);
    if (set === undefined) out.set(t, (set = new Set()));
    set.add(c);
  }
  return out;
}

/** Create what is missing of LiteLLM's tables; touch nothing that exists. Returns what it did. */
export async function ensureLiteLLMTables(db: Kysely<unknown>, dialect: Dialect, tables: readonly TableDef[] = LITELLM_TABLES): Promise<string[]> {
  const live = await liveColumns(db, dialect);
  const done: string[] = [];
  for (const table of tables) {
    const have = live.get(table.name);
    if (have === undefined) {
      await sql.raw(createTableSql(dialect, table)).execute(db);
      for (const index of table.indexes ?? []) {
        await sql.raw(`CREATE ${index.unique === true ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${q(index.name)} ON ${q(table.name)}(${index.columns.map(q).join(', ')})`).execute(db);
      }
      done.push(`created ${table.name}`);
      continue;
    }
    for (const col of table.columns) {
      if (have.has(col.name)) continue;
      await sql.raw(`ALTER TABLE ${q(table.name)} ADD COLUMN ${columnSql(dialect, col, true)}`).execute(db);
      done.push(`added ${table.name}.${col.name}`);
    }
  }
  return done;
}

/** Tollgate's own tables beside LiteLLM's. */
export async function createTollgateTables(db: Kysely<unknown>): Promise<void> {
  // Fields of a record LiteLLM has no column for (e.g. a key's soft budget, a customer's inline
  // limits), as a JSON object per (kind, id). Read together with the LiteLLM row.
  await db.schema
    .createTable('tollgate_record_extras')
    .ifNotExists()
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tollgate_record_extras_pk', ['kind', 'id'])
    .execute();
}
