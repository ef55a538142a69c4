/**
 * Kysely's view of the tables, shared by the SQLite and Postgres implementations. Differs from the
 * ports' row types only where the portable schema does (0/1 for booleans).
 */
import type { SpendLogRow } from '../ports.js';

export type SpendLogsTable = Omit<SpendLogRow, 'stream' | 'client_disconnected'> & {
  stream: number;
  client_disconnected: number;
};

export interface StorageSchema {
  spend_logs: SpendLogsTable;
}
