/**
 * The daily step's UPDATE of one LiteLLM daily row (spend-daily.ts), as plain positional SQL built
 * once per table shape: one runs per daily row a fold step adds to.
 */
import type { DatabaseDialect } from '../ports.js';

/** The counters a daily row is added to, and the sum each takes. */
const INCREMENTS = [
  ['spend', 'spend'],
  ['prompt_tokens', 'prompt'],
  ['completion_tokens', 'completion'],
  ['cache_read_input_tokens', 'cacheRead'],
  ['cache_creation_input_tokens', 'cacheCreation'],
  ['api_requests', 'requests'],
  ['successful_requests', 'succeeded'],
  ['failed_requests', 'failed'],
] as const;

/** What a placeholder takes: a field of spend-daily.ts' DailySums, or the update time. */
type UpdateField = (typeof INCREMENTS)[number][1] | 'requestId' | 'updatedAt';

/** UPDATE texts per table shape (the column set the catalog read), built once: one runs per daily row a step adds to. */
const updateStatements = new WeakMap<ReadonlySet<string>, Map<string, { text: string; fields: UpdateField[] }>>();

/**
 * `update "table" set "spend" = "spend" + ?, … where id = ?` for the columns the table has, as
 * plain positional SQL: the query builder's per-value work for this statement cost more than the
 * database's. The fields name what each placeholder takes, `id` last.
 */
export function updateStatement(dialect: DatabaseDialect, table: string, columns: ReadonlySet<string>, withRequestId: boolean): { text: string; fields: UpdateField[] } {
  let byTable = updateStatements.get(columns);
  if (byTable === undefined) {
    byTable = new Map();
    updateStatements.set(columns, byTable);
  }
  const cacheKey = `${dialect}|${table}|${withRequestId ? 1 : 0}`;
  let found = byTable.get(cacheKey);
  if (found === undefined) {
    let n = 0;
    const p = (): string => (dialect === 'sqlite' ? '?' : `$${++n}`);
    const sets: string[] = [];
    const fields: UpdateField[] = [];
    for (const [column, field] of INCREMENTS) {
      if (!columns.has(column)) continue;
      sets.push(`"${column}" = "${column}" + ${p()}`);
      fields.push(field);
    }
    if (columns.has('updated_at')) {
      sets.push(`"updated_at" = ${p()}`);
      fields.push('updatedAt');
    }
    if (withRequestId && columns.has('request_id')) {
      sets.push(`"request_id" = ${p()}`);
      fields.push('requestId');
    }
    found = { text: `update "${table}" set ${sets.join(', ')} where id = ${p()}`, fields };
    byTable.set(cacheKey, found);
  }
  return found;
}

