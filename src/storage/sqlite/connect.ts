/**
 * The embedded default store: one SQLite file through better-sqlite3. WAL lets readers (the admin
 * API, a CLI in another process) proceed while the spend writer commits; NORMAL sync is durable
 * across a process crash in WAL mode, which is what a clean or unclean restart needs.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { StorageSchema } from '../sql/schema.js';

export const MEMORY = ':memory:';

export function connectSqlite(path: string): Kysely<StorageSchema> {
  if (path !== MEMORY) mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  if (path !== MEMORY) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Another process (a CLI, a second instance on the same file) may hold the write lock briefly.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<StorageSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
}
