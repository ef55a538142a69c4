/**
 * The embedded default store: one SQLite file through better-sqlite3. WAL lets readers (the admin
 * API, a CLI in another process) proceed while the spend writer commits; NORMAL sync is durable
 * across a process crash in WAL mode, which is what a clean or unclean restart needs.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { StorageSchema } from '../sql/schema.js';

export const MEMORY = ':memory:';

/** Prepared statements kept, least recently used dropped first (multi-row INSERTs have one text per row count). */
const STATEMENT_CACHE = 256;

/**
 * Checkpoints (copying the WAL into the database file, and its fsync) run on a worker thread with
 * its own connection, every CHECKPOINT_INTERVAL_MS, PASSIVE (never waiting on the writer): done by
 * a commit, on the event loop, they were about half of what the spend fold's commits cost and its
 * longest blocks (bench/spend-writer.mjs). The event loop's own connection checkpoints only as a
 * backstop, when the WAL has grown past WAL_BACKSTOP_PAGES (~16 MB: the worker is not keeping up).
 */
const CHECKPOINT_INTERVAL_MS = 200;
const WAL_BACKSTOP_PAGES = 4096;

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); try { db.close(); } catch {} parentPort.close(); });
`;

/** The checkpointing worker of one database file; it does not keep the process alive. */
function startCheckpointer(path: string): Worker | undefined {
  try {
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs: CHECKPOINT_INTERVAL_MS } });
    worker.unref();
    // A worker that cannot start or dies leaves the backstop checkpoints: nothing to report to the caller.
    worker.on('error', () => undefined);
    return worker;
  } catch {
    return undefined;
  }
}

/**
 * better-sqlite3 behind Kysely, with each SQL text prepared once: Kysely's SQLite driver calls
 * `prepare` for every query, and preparing cost about a quarter of the spend fold's SQL time. A
 * cached statement SQLite re-prepares by itself if the schema changes under it (a migration).
 */
export class CachingSqlite implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    readonly raw: BetterSqlite3.Database,
    private readonly checkpointer?: Worker,
  ) {}

  prepare(sql: string): SqliteStatement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) {
      // A statement still being iterated (a streamed select) cannot run twice at once: a fresh one then.
      if (cached.busy) return this.raw.prepare(sql);
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const statement = this.raw.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > STATEMENT_CACHE) {
      const oldest = this.statements.keys().next();
      if (oldest.done !== true) this.statements.delete(oldest.value);
    }
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.checkpointer?.postMessage('close');
    this.raw.close();
  }
}

export function connectSqlite(path: string): Kysely<StorageSchema> {
  if (path !== MEMORY) mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  let checkpointer: Worker | undefined;
  if (path !== MEMORY) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
    checkpointer = startCheckpointer(path);
  }
  sqlite.pragma('synchronous = NORMAL');
  // Another process (a CLI, a second instance on the same file) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<StorageSchema>({ dialect: new SqliteDialect({ database: new CachingSqlite(sqlite, checkpointer) }) });
}
