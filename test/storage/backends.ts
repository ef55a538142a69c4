/**
 * The databases every storage test runs on: a SQLite temp file, SQLite `:memory:`, and the real
 * Postgres (each test file in its own schema, dropped afterwards). When Postgres is unreachable its
 * tests are skipped with the reason printed, except in CI (`CI=true`), where that is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/ports.js';

export const POSTGRES_URL = process.env.TOLLGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: string;
  /** Why this backend's tests are skipped, when they are. */
  skip?: string | undefined;
  /** Opens a fresh, empty, migrated database; `reopen` opens the same one again. */
  open(): Promise<{ db: Database; reopen: () => Database; cleanup: () => Promise<void> }>;
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await postgresReachable();
if (unreachable !== undefined) {
  if (process.env.CI === 'true') throw new Error(`Postgres at ${POSTGRES_URL} is unreachable in CI: ${unreachable}`);
  console.warn(`[storage tests] skipping Postgres: ${POSTGRES_URL} unreachable (${unreachable})`);
}

const sqliteFile: Backend = {
  name: 'sqlite-file',
  open() {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-store-'));
    const path = join(dir, 'nested', 'dir', 'tollgate.db');
    const db = openDatabase(path, dir);
    return Promise.resolve({
      db,
      reopen: () => openDatabase(path, dir),
      cleanup: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

const sqliteMemory: Backend = {
  name: 'sqlite-memory',
  open() {
    const db = openDatabase(':memory:', tmpdir());
    // Each :memory: connection is its own database, so "the same one again" is this handle.
    return Promise.resolve({ db, reopen: () => db, cleanup: () => db.close() });
  },
};

/** A fresh, empty schema on the test Postgres: a database URL that uses it, and its removal. */
export async function createPostgresSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `tg_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`create schema ${schema}`);
  return { url: `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, drop: () => run(`drop schema ${schema} cascade`) };
}

const postgres: Backend = {
  name: 'postgres',
  skip: unreachable === undefined ? undefined : `Postgres unreachable: ${unreachable}`,
  async open() {
    const { url, drop } = await createPostgresSchema();
    const opened: Database[] = [];
    const reopen = (): Database => {
      const db = openDatabase(url, tmpdir());
      opened.push(db);
      return db;
    };
    const db = reopen();
    return {
      db,
      reopen,
      cleanup: async () => {
        for (const d of opened) await d.close();
        await drop();
      },
    };
  },
};

export const BACKENDS: Backend[] = [sqliteFile, sqliteMemory, postgres];
