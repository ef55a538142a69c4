/**
 * Kysely's view of the tables, shared by the SQLite and Postgres implementations. Differs from the
 * ports' row types only where the portable schema does (0/1 for booleans, JSON as text).
 */
import type { SpendLogRow } from '../ports.js';

export type SpendLogsTable = Omit<SpendLogRow, 'stream' | 'client_disconnected'> & {
  stream: number;
  client_disconnected: number;
};

/**
 * Keys, users, teams, customers and models in one table: the record itself is the JSON `doc`; the
 * columns beside it are the ones looked up or filtered on.
 */
export interface TenancyRecordsTable {
  kind: string;
  id: string;
  /** key_alias, user_email, team_alias, customer alias or model_name. */
  alias: string | null;
  user_id: string | null;
  team_id: string | null;
  /** user_role, for users. */
  role: string | null;
  doc: string;
  created_at: number;
  updated_at: number;
}

/** What was deleted when, so other instances drop it from their caches. */
export interface TenancyDeletionsTable {
  kind: string;
  id: string;
  deleted_at: number;
}

export interface BudgetCountersTable {
  scope: string;
  period_end: number;
  spend_nano: number;
  updated_at: number;
}

export interface BudgetAlertsTable {
  scope: string;
  period_end: number;
  kind: string;
  created_at: number;
}

export interface StorageSchema {
  spend_logs: SpendLogsTable;
  tenancy_records: TenancyRecordsTable;
  tenancy_deletions: TenancyDeletionsTable;
  budget_counters: BudgetCountersTable;
  budget_alerts: BudgetAlertsTable;
}
