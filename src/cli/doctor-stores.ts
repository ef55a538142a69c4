/**
 * The database and Redis checks of `tollgate doctor`. Read-only by design: the database is opened
 * (SQLite read-only, never created), asked `select 1` and which migrations it has recorded; it is
 * never migrated — `serve` does that, and a doctor run must not change what it diagnoses.
 */
import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { LoadedConfig } from '../config/loader.js';
import { ConfigError } from '../config/loader.js';
import { resolveRedis } from '../config/redis.js';
import { doctorFacts } from '../server.js';

const FACTS = doctorFacts();
const MIGRATIONS = FACTS.migrationNames();
import { errorText, type CheckLine, type Probe } from './doctor-types.js';

type Outcome = Pick<CheckLine, 'verdict' | 'detail'>;

/** Kysely's record of applied migrations (storage/database.ts runs Kysely's Migrator). */
const MIGRATION_TABLE = 'kysely_migration';

export function databaseProbe(loaded: LoadedConfig, env: NodeJS.ProcessEnv, dataDir = 'data'): Probe {
  const url = loaded.config.general_settings.database_url ?? env.DATABASE_URL;
  if (url !== undefined && /^postgres(ql)?:\/\//i.test(url)) {
    return { check: 'database', target: maskUrl(url), run: (signal) => postgresState(url, signal) };
  }
  const path = FACTS.sqliteFile(url, dataDir);
  return { check: 'database', target: `sqlite ${path}`, run: () => Promise.resolve(sqliteState(path)) };
}

function sqliteState(path: string): Outcome {
  if (path === ':memory:') return { verdict: 'OK', detail: 'in memory: nothing is kept across restarts' };
  if (!existsSync(path)) return { verdict: 'WARN', detail: 'does not exist yet: serve creates and migrates it' };
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    db.prepare('select 1').get();
    const table = db.prepare(`select name from sqlite_master where type = 'table' and name = ?`).get(MIGRATION_TABLE);
    if (table === undefined) return migrationState([], 'SQLite');
    const rows = db.prepare(`select name from ${MIGRATION_TABLE}`).all() as { name: string }[];
    return migrationState(rows.map((r) => r.name), 'SQLite');
  } finally {
    db.close();
  }
}

async function postgresState(url: string, signal: AbortSignal): Promise<Outcome> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 30_000 });
  // The runner gives up at the deadline; ending the client then frees the process to exit.
  const abort = (): void => void client.end().catch(() => undefined);
  signal.addEventListener('abort', abort, { once: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    // In the schema the gateway migrates (storage/database.ts: current_schema()).
    const found = await client.query<{ present: boolean }>(
      `select exists (select 1 from information_schema.tables where table_schema = current_schema() and table_name = $1) as present`,
      [MIGRATION_TABLE],
    );
    if (found.rows[0]?.present !== true) return migrationState([], 'Postgres');
    const rows = await client.query<{ name: string }>(`select name from ${MIGRATION_TABLE}`);
    return migrationState(rows.rows.map((r) => r.name), 'Postgres');
  } finally {
    signal.removeEventListener('abort', abort);
    await client.end().catch(() => undefined);
  }
}

function migrationState(applied: string[], kind: string): Outcome {
  const unknown = applied.filter((name) => !MIGRATIONS.includes(name));
  // Kysely refuses to run with a recorded migration it does not know: a newer Tollgate migrated this.
  if (unknown.length > 0) return { verdict: 'FAIL', detail: `${kind} reachable; migrated by a newer Tollgate (unknown: ${unknown.join(', ')})` };
  const pending = MIGRATIONS.filter((name) => !applied.includes(name));
  if (applied.length === 0) return { verdict: 'WARN', detail: `${kind} reachable; not migrated yet (serve applies ${MIGRATIONS.length} migrations)` };
  if (pending.length > 0) return { verdict: 'WARN', detail: `${kind} reachable; ${pending.length} migration(s) pending, serve applies them: ${pending.join(', ')}` };
  return { verdict: 'OK', detail: `${kind} reachable; migrations up to date (${applied.length})` };
}

/** The Redis line: PING when one is configured; a config line when its settings are wrong. */
export function redisProbe(loaded: LoadedConfig, env: NodeJS.ProcessEnv): Probe | CheckLine {
  let target;
  try {
    target = resolveRedis(loaded.config, env, loaded.file);
  } catch (err) {
    const detail = err instanceof ConfigError ? `${err.path}: ${err.reason}` : errorText(err);
    return { check: 'redis', target: 'config', verdict: 'FAIL', detail };
  }
  if (target === undefined) return { check: 'redis', target: '-', verdict: 'OK', detail: 'not configured: limits and cooldowns are per instance' };
  const { url, display, source } = target;
  return {
    check: 'redis',
    target: display,
    async run(signal) {
      const client = new Redis(url, { lazyConnect: true, connectTimeout: 30_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      // connect() rejects with "Connection is closed."; the reason (ECONNREFUSED, NOAUTH) came as an event.
      let reason: unknown;
      client.on('error', (err) => (reason ??= err));
      const abort = (): void => client.disconnect();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await client.connect();
        const pong: string = await client.ping();
        return pong === 'PONG' ? { verdict: 'OK', detail: `PING answered (from ${source})` } : { verdict: 'FAIL', detail: `PING answered ${pong}` };
      } catch (err) {
        return { verdict: 'FAIL', detail: errorText(reason ?? err) };
      } finally {
        signal.removeEventListener('abort', abort);
        client.disconnect();
      }
    },
  };
}

function maskUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password !== '') u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
    return u.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return 'postgres (unparseable URL)';
  }
}
