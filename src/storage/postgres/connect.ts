/**
 * The shared store for several instances: Postgres through a pg Pool. BIGINT (int8) columns are
 * parsed into JS numbers: they hold epoch milliseconds, token counts and per-call nano-USD, all far
 * below 2^53. (SUM() results come back as NUMERIC text and are converted where they are read.)
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { StorageSchema } from '../sql/schema.js';

const INT8_OID = 20;
const TIMESTAMP_OID = 1114;

export interface PostgresOptions {
  poolSize?: number | undefined;
  /** An idle pooled connection failed (server restart, network); the pool replaces it. */
  onPoolError?: ((err: Error) => void) | undefined;
}

export function connectPostgres(url: string, options: PostgresOptions = {}): Kysely<StorageSchema> {
  // Per pool, not pg's global parsers: other pg users in the process keep their defaults.
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', (value: string) => Number(value));
  // LiteLLM's DateTime columns are TIMESTAMP(3) without time zone holding UTC. pg would build a
  // Date in the process's local zone (wrong off UTC, ambiguous at DST changes): keep the text;
  // the stores read it as UTC (sql/spend-tables.ts decodeTime).
  types.setTypeParser(TIMESTAMP_OID, 'text', (value: string) => value);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types,
  });
  // Without a listener an idle client's error event would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  return new Kysely<StorageSchema>({ dialect: new PostgresDialect({ pool }) });
}
