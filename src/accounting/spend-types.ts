/**
 * The spend-log port and row types the spend routes query and render, as accounting/ sees them.
 * Storage defines them; http may only depend on accounting/ (DESIGN.md's direction), so the types
 * are re-exported here instead of http reaching into storage. Types only: nothing here runs.
 */
export type {
  DailyEntity,
  DailySpendRow,
  SessionAggregate,
  SessionReportQuery,
  SpendAggregate,
  SpendLogFilter,
  SpendLogStore,
  StoredSpendLog,
} from '../storage/ports.js';
