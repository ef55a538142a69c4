/**
 * Values of LiteLLM's columns on both databases, to and from Tollgate's units. Money: LiteLLM
 * keeps USD floats, Tollgate integer nano-USD. Lists: TEXT[] on Postgres (pg sends a JS array as
 * one), a JSON array in TEXT on SQLite. Booleans: BOOLEAN / 0-1. Times and JSON: spend-tables.ts.
 */
import type { DatabaseDialect } from '../ports.js';
import type { ModelBudget } from '../tenancy-ports.js';
import { decodeJson, decodeTime, encodeTime, type DbValue } from './spend-tables.js';

export type Row = Record<string, DbValue | undefined>;
type Obj = Record<string, unknown>;

export function usdToNano(value: DbValue | undefined): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.round(n * 1e9) : null;
}

export function nanoToUsd(nano: number | null | undefined): number | null {
  return nano === null || nano === undefined ? null : nano / 1e9;
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function int(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

export function bool(value: DbValue | undefined): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}

export function obj(value: unknown): Obj {
  const v = typeof value === 'string' ? decodeJson(value) : value;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function list(value: unknown): string[] {
  const v = typeof value === 'string' ? decodeJson(value) : value;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function time(value: DbValue | undefined): number | null {
  return decodeTime(value);
}

export class Encoder {
  constructor(readonly dialect: DatabaseDialect) {}

  time(ms: number | null | undefined): string | null {
    return ms === null || ms === undefined ? null : encodeTime(this.dialect, ms);
  }
  json(value: unknown): string {
    return JSON.stringify(value ?? {});
  }
  list(values: readonly string[] | null | undefined): string[] | string | null {
    if (values === null || values === undefined) return null;
    return this.dialect === 'postgres' ? [...values] : JSON.stringify(values);
  }
  bool(value: boolean | null | undefined): boolean | number | null {
    if (value === null || value === undefined) return null;
    return this.dialect === 'postgres' ? value : value ? 1 : 0;
  }
}

/** LiteLLM's `model_max_budget`: `{"gpt-4o": {"budget_limit": 5, "time_period": "1d"}}` (USD). */
export function decodeModelBudgets(value: unknown): Record<string, ModelBudget> {
  const out: Record<string, ModelBudget> = {};
  for (const [model, raw] of Object.entries(obj(value))) {
    const b = obj(raw);
    // Older Tollgate documents kept nano-USD; LiteLLM keeps USD under budget_limit (or max_budget).
    const nano = typeof b.max_budget_nano === 'number' ? b.max_budget_nano : usdToNano((b.budget_limit ?? b.max_budget) as DbValue);
    if (nano !== null) out[model] = { max_budget_nano: nano, budget_duration: str(b.time_period ?? b.budget_duration) };
  }
  return out;
}

export function encodeModelBudgets(budgets: Readonly<Record<string, ModelBudget>>): Obj {
  const out: Obj = {};
  for (const [model, b] of Object.entries(budgets)) out[model] = { budget_limit: b.max_budget_nano / 1e9, time_period: b.budget_duration };
  return out;
}

export function numberMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(value))) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** An `extra` value worth echoing: LiteLLM's column defaults (`{}`, `[]`, false, null) are left out. */
export function meaningful(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
