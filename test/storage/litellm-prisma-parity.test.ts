/**
 * Tollgate's LiteLLM tables against LiteLLM's own Prisma schema. The expected columns come from
 * test/fixtures/litellm-schema/schema.prisma.excerpt (the models of those tables, copied from the
 * newest `schema.prisma` of BerriAI/litellm; the commit is in its header), parsed here, so a column
 * LiteLLM adds upstream fails this test once the excerpt is refreshed, until Tollgate has it too.
 *
 * Checked three ways: the table definitions (kind, NOT NULL and default as Prisma declares them),
 * a SQLite database Tollgate creates, and two Postgres databases — an empty one Tollgate migrates,
 * and one LiteLLM's migrations made (the fixture) that Tollgate then migrates — where every column
 * must exist with the type Prisma gives it on Postgres.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { liveColumns } from '../../src/storage/sql/litellm-migration.js';
import { LITELLM_TABLES, type ColumnDefault, type ColumnKind } from '../../src/storage/sql/litellm-tables.js';
import { POSTGRES_URL } from './backends.js';
import { createLiteLLMPostgres, LITELLM_FIXTURE } from './litellm-fixture-db.js';

interface PrismaColumn {
  name: string;
  kind: ColumnKind;
  notNull: boolean;
  default: ColumnDefault | undefined;
}

interface PrismaModel {
  name: string;
  columns: PrismaColumn[];
  primaryKey: string[];
}

const SCALARS: Record<string, ColumnKind> = { String: 'text', Float: 'float', Int: 'int', BigInt: 'bigint', Boolean: 'bool', DateTime: 'time', Json: 'json' };

/** Prisma's `@default(...)` by meaning; uuid()/cuid() are filled in by the client, not the database. */
function prismaDefault(raw: string | undefined, kind: ColumnKind): ColumnDefault | undefined {
  if (raw === undefined || raw === 'uuid()' || raw === 'cuid()') return undefined;
  const byValue: Record<string, ColumnDefault> = { 'now()': 'now', '"{}"': 'empty_json', '"[]"': 'empty_json_array', '[]': 'empty_list', false: 'false', true: 'true', '0': 'zero', '0.0': 'zero', '""': 'empty_text' };
  const d = byValue[raw];
  if (d === undefined) throw new Error(`unexpected Prisma default ${raw} (${kind})`);
  return d;
}

/** The argument of `@default(...)`, parentheses balanced (`now()` inside). */
function defaultArg(attrs: string): string | undefined {
  const at = /@default\s*\(/.exec(attrs);
  if (at === null) return undefined;
  let depth = 1;
  let i = at.index + at[0].length;
  const start = i;
  for (; i < attrs.length && depth > 0; i++) {
    if (attrs[i] === '(') depth++;
    else if (attrs[i] === ')') depth--;
  }
  return attrs.slice(start, i - 1).trim();
}

/** The scalar columns of each model (relation fields left out), with `@map` names. */
export function parsePrisma(text: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  let current: PrismaModel | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/(^|\s)\/\/.*$/, '').trim();
    if (line === '') continue;
    const open = /^model\s+(\w+)\s*\{$/.exec(line);
    if (open !== null) {
      current = { name: open[1]!, columns: [], primaryKey: [] };
      models.push(current);
      continue;
    }
    if (current === undefined) continue;
    if (line === '}') {
      current = undefined;
      continue;
    }
    const compositeId = /^@@id\(\[([^\]]*)\]\)/.exec(line);
    if (compositeId !== null) current.primaryKey = compositeId[1]!.split(',').map((s) => s.trim());
    if (line.startsWith('@@')) continue;
    const field = /^(\w+)\s+(\w+)(\[\])?(\?)?(.*)$/.exec(line);
    if (field === null) throw new Error(`cannot read Prisma line: ${line}`);
    const [, fieldName, type, list, optional, attrs = ''] = field;
    const scalar = SCALARS[type!];
    if (scalar === undefined) continue; // a relation to another model
    const kind: ColumnKind = list === undefined ? scalar : 'list';
    const name = /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? fieldName!;
    current.columns.push({ name, kind, notNull: optional === undefined && list === undefined, default: prismaDefault(defaultArg(attrs), kind) });
    if (/@id\b/.test(attrs)) current.primaryKey = [name];
  }
  return models;
}

const EXCERPT = readFileSync(join(LITELLM_FIXTURE, 'schema.prisma.excerpt'), 'utf8');
const MODELS = parsePrisma(EXCERPT);

/** What Prisma's migrations give each column kind on Postgres (information_schema's data_type / udt_name). */
const PG_TYPE: Record<ColumnKind, string> = {
  text: 'text',
  float: 'double precision',
  int: 'integer',
  bigint: 'bigint',
  bool: 'boolean',
  time: 'timestamp without time zone(3)',
  json: 'jsonb',
  list: 'ARRAY _text',
  serial: 'integer',
};

describe('the excerpt of LiteLLM’s schema.prisma', () => {
  it('holds the 16 models of the tables Tollgate creates, with their columns', () => {
    expect(MODELS.map((m) => m.name).sort()).toEqual(LITELLM_TABLES.map((t) => t.name).sort());
    // Counted by hand from the excerpt: VerificationToken's 43 scalar fields, SpendLogs' 32.
    expect(MODELS.find((m) => m.name === 'LiteLLM_VerificationToken')?.columns).toHaveLength(43);
    expect(MODELS.find((m) => m.name === 'LiteLLM_SpendLogs')?.columns).toHaveLength(32);
    expect(MODELS.find((m) => m.name === 'LiteLLM_TeamMembership')?.primaryKey).toEqual(['user_id', 'team_id']);
  });
});

describe('Tollgate’s table definitions against it', () => {
  for (const model of MODELS) {
    it(`${model.name}: every column, as Prisma declares it`, () => {
      const table = LITELLM_TABLES.find((t) => t.name === model.name);
      expect(table, model.name).toBeDefined();
      const have = new Map((table?.columns ?? []).map((c) => [c.name, { name: c.name, kind: c.kind, notNull: c.notNull === true, default: c.default }]));
      const missing = model.columns.filter((c) => !have.has(c.name)).map((c) => c.name);
      expect(missing, `columns of ${model.name} Tollgate does not create`).toEqual([]);
      for (const col of model.columns) expect(have.get(col.name), `${model.name}.${col.name}`).toEqual(col);
      expect(table?.primaryKey).toEqual(model.primaryKey);
    });
  }
});

type Live = Map<string, Map<string, string>>;

/** Tables → column → Postgres type, for the tables in the excerpt. */
async function pgColumns(url: string): Promise<Live> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (
      await client.query(
        `SELECT table_name AS t, column_name AS c, data_type AS d, udt_name AS u, datetime_precision AS p FROM information_schema.columns WHERE table_schema = current_schema()`,
      )
    ).rows as { t: string; c: string; d: string; u: string; p: number | null }[];
    const out: Live = new Map();
    for (const r of rows) {
      const type = r.d === 'ARRAY' ? `ARRAY ${r.u}` : r.d.startsWith('timestamp') ? `${r.d}(${r.p ?? ''})` : r.d;
      let cols = out.get(r.t);
      if (cols === undefined) out.set(r.t, (cols = new Map()));
      cols.set(r.c, type);
    }
    return out;
  } finally {
    await client.end();
  }
}

function expectPrismaColumns(live: Live, withTypes: boolean): void {
  for (const model of MODELS) {
    const cols = live.get(model.name);
    expect(cols, model.name).toBeDefined();
    const missing = model.columns.filter((c) => !cols?.has(c.name)).map((c) => c.name);
    expect(missing, `columns of ${model.name} missing in the database`).toEqual([]);
    if (withTypes) for (const c of model.columns) expect(cols?.get(c.name), `${model.name}.${c.name}`).toBe(PG_TYPE[c.kind]);
  }
}

describe('databases Tollgate migrates have every column of the excerpt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-prisma-'));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SQLite, created by Tollgate', async () => {
    const db = openDatabase(join(dir, 'tollgate.db'), dir);
    try {
      await db.migrate();
      const kysely = (db as unknown as { db: Kysely<unknown> }).db;
      const live = await liveColumns(kysely, 'sqlite');
      expectPrismaColumns(new Map([...live].map(([t, cols]) => [t, new Map([...cols].map((c) => [c, '']))])), false);
    } finally {
      await db.close();
    }
  });

  it('Postgres, empty, created by Tollgate: the types Prisma gives them', async () => {
    const name = `prisma_parity_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const url = POSTGRES_URL.replace(/\/[^/]*$/, `/${name}`);
    const db = openDatabase(url, dir);
    try {
      await db.migrate();
    } finally {
      await db.close();
    }
    expectPrismaColumns(await pgColumns(url), true);
  });

  it('Postgres made by LiteLLM’s migrations (the fixture), then migrated by Tollgate', async () => {
    const made = await createLiteLLMPostgres('prisma_fixture');
    cleanups.push(made.drop);
    const db = openDatabase(made.url, dir);
    try {
      await db.migrate();
    } finally {
      await db.close();
    }
    expectPrismaColumns(await pgColumns(made.url), true);
  });
});
