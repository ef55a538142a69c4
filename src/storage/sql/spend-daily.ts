/**
 * LiteLLM's daily aggregate tables (`LiteLLM_Daily{User,Team,Organization,EndUser,Tag}Spend`), as
 * its `DBSpendUpdateWriter` fills them (litellm/proxy/db/db_spend_update_writer.py,
 * `_common_add_spend_log_transaction_to_daily_transaction` and `_update_daily_spend`): one row per
 * (entity, UTC date of startTime, api_key, model, custom_llm_provider, mcp_namespaced_tool_name
 * [, endpoint]), to which each call adds its spend, prompt/completion tokens, the cache read and
 * creation tokens of its `usage_object`, and one api/successful/failed request.
 *
 * Written as "find the row by the table's own unique key, add to it, else insert it" inside the
 * transaction of a fold step (one look-up per table and step; spend-fold.ts) rather than `ON CONFLICT`: the unique index differs between LiteLLM schema
 * versions (with or without mcp_namespaced_tool_name and endpoint), and a conflict target must
 * match it exactly, so the key is read from the database. Key columns are matched through
 * coalesce(…, '') so rows LiteLLM stored with NULL there are added to, not duplicated. Two
 * instances inserting the same new row at once: the loser's transaction fails on the unique index
 * and its step is retried whole (what the step consumed is deleted only if it commits).
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { DailyActivityQuery, DailyEntity, DailySpendRow, DatabaseDialect, LiteLLMSpendLog } from '../ports.js';
import { updateStatement } from './spend-daily-sql.js';
import { DAILY_TABLES, encodeTime, existing, num, text, textOrNull, type ColumnCatalog, type LooseRow, type SpendSchema } from './spend-tables.js';

export interface DailyKey {
  entityId: string;
  date: string;
  apiKey: string;
  model: string;
  modelGroup: string;
  provider: string;
  endpoint: string;
}

export interface DailySums {
  spend: number;
  prompt: number;
  completion: number;
  cacheRead: number;
  cacheCreation: number;
  requests: number;
  succeeded: number;
  failed: number;
  /** The latest request folded in (LiteLLM_DailyTagSpend.request_id names one contributor). */
  requestId: string;
}

/** A spend log row as the daily writer needs it, with the call's route for `endpoint`. */
export interface DailyInput {
  log: LiteLLMSpendLog;
  endpoint: string;
}

function usageTokens(metadata: Record<string, unknown>, field: string): number {
  const usage = metadata.usage_object;
  if (typeof usage !== 'object' || usage === null) return 0;
  const value = (usage as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The entity ids one call counts for, per table (LiteLLM: every tag once; end users only when set). */
function entityIds(log: LiteLLMSpendLog, entity: DailyEntity): string[] {
  switch (entity) {
    case 'user':
      return [log.user];
    case 'team':
      return log.team_id === '' ? [] : [log.team_id];
    case 'organization':
      return log.organization_id === '' ? [] : [log.organization_id];
    case 'end_user':
      return log.end_user === '' ? [] : [log.end_user];
    case 'tag':
      return [...new Set(log.request_tags)];
  }
}

/**
 * What a set of calls adds to one row of one daily table: the table's entity, the row's key and
 * the sums. Plain JSON, so a fold slice can park its additions (spend-fold.ts) and a later step
 * add many slices' at once.
 */
export interface DailyAddition {
  entity: DailyEntity;
  key: DailyKey;
  sums: DailySums;
}

function additionId(entity: DailyEntity, k: DailyKey): string {
  return JSON.stringify([entity, k.entityId, k.date, k.apiKey, k.model, k.provider, k.endpoint]);
}

function emptySums(requestId: string): DailySums {
  return { spend: 0, prompt: 0, completion: 0, cacheRead: 0, cacheCreation: 0, requests: 0, succeeded: 0, failed: 0, requestId };
}

/** Sum the calls per table and row key, as LiteLLM's in-memory queue does before it writes. */
export function dailyAdditions(inputs: readonly DailyInput[]): DailyAddition[] {
  const out = new Map<string, DailyAddition>();
  for (const { log, endpoint } of inputs) {
    const date = new Date(log.startTime).toISOString().slice(0, 10);
    const success = log.status === 'success';
    const cacheRead = usageTokens(log.metadata, 'cache_read_input_tokens');
    const cacheCreation = usageTokens(log.metadata, 'cache_creation_input_tokens');
    for (const entity of ENTITIES) {
      for (const entityId of entityIds(log, entity)) {
        const key: DailyKey = { entityId, date, apiKey: log.api_key, model: log.model, modelGroup: log.model_group, provider: log.custom_llm_provider, endpoint };
        const id = additionId(entity, key);
        let entry = out.get(id);
        if (entry === undefined) {
          entry = { entity, key, sums: emptySums(log.request_id) };
          out.set(id, entry);
        }
        const s = entry.sums;
        s.spend += log.spend;
        s.prompt += log.prompt_tokens;
        s.completion += log.completion_tokens;
        s.cacheRead += cacheRead;
        s.cacheCreation += cacheCreation;
        s.requests += 1;
        s.succeeded += success ? 1 : 0;
        s.failed += success ? 0 : 1;
        s.requestId = log.request_id;
      }
    }
  }
  return [...out.values()];
}

/** Lists of additions summed into one, per table and row key (later lists' request ids win). */
export class AdditionMerger {
  private readonly rows = new Map<string, DailyAddition>();

  /** Distinct daily rows so far. */
  get size(): number {
    return this.rows.size;
  }

  /** How many distinct daily rows there would be with `list` added. */
  sizeWith(list: readonly DailyAddition[]): number {
    let n = this.rows.size;
    for (const a of list) if (!this.rows.has(additionId(a.entity, a.key))) n++;
    return n;
  }

  add(list: readonly DailyAddition[]): void {
    for (const a of list) {
      const id = additionId(a.entity, a.key);
      const entry = this.rows.get(id);
      if (entry === undefined) this.rows.set(id, { entity: a.entity, key: a.key, sums: { ...a.sums } });
      else addSums(entry.sums, a.sums);
    }
  }

  result(): DailyAddition[] {
    return [...this.rows.values()];
  }
}

const ENTITIES = Object.keys(DAILY_TABLES) as DailyEntity[];

/**
 * The columns a daily row is identified by: those of the table's unique index over its entity
 * (the narrowest, if several), so an insert can never collide with a row the look-up missed. A
 * LiteLLM database of mid-2025 has (entity, date, api_key, model, custom_llm_provider); newer ones
 * add mcp_namespaced_tool_name and endpoint.
 */
export function dailyKeyColumns(entityColumn: string, uniqueKeys: readonly string[][], columns: ReadonlySet<string>): string[] {
  const candidates = uniqueKeys.filter((k) => k.includes(entityColumn)).sort((x, y) => x.length - y.length);
  if (candidates[0] !== undefined) return candidates[0];
  return [entityColumn, 'date', 'api_key', 'model', 'custom_llm_provider', 'mcp_namespaced_tool_name', 'endpoint'].filter((c) => columns.has(c));
}

function keyValue(column: string, entityColumn: string, key: DailyKey): string | undefined {
  if (column === entityColumn) return key.entityId;
  switch (column) {
    case 'date':
      return key.date;
    case 'api_key':
      return key.apiKey;
    case 'model':
      return key.model;
    case 'custom_llm_provider':
      return key.provider;
    case 'mcp_namespaced_tool_name':
      return '';
    case 'endpoint':
      return key.endpoint;
    case 'model_group':
      return key.modelGroup;
    default:
      // A key column this version does not know: matching without it can only merge, never collide.
      return undefined;
  }
}

/** What the store knows about one daily table before the transaction opens. */
export interface DailyTableShape {
  columns: ReadonlySet<string>;
  uniqueKeys: readonly string[][];
}

/** Rows per statement (IN lists, multi-row INSERT): far below both databases' parameter limits. */
const CHUNK = 200;

function addSums(into: DailySums, from: DailySums): void {
  into.spend += from.spend;
  into.prompt += from.prompt;
  into.completion += from.completion;
  into.cacheRead += from.cacheRead;
  into.cacheCreation += from.cacheCreation;
  into.requests += from.requests;
  into.succeeded += from.succeeded;
  into.failed += from.failed;
  into.requestId = from.requestId;
}

/** Add the calls' sums to the daily tables, inside the caller's transaction. */
export function addToDailyTables(
  trx: Kysely<SpendSchema>,
  dialect: DatabaseDialect,
  shapeOf: (table: string) => DailyTableShape,
  inputs: readonly DailyInput[],
  now: number,
): Promise<void> {
  return applyDailyAdditions(trx, dialect, shapeOf, dailyAdditions(inputs), now);
}

/**
 * Add summed additions to the daily tables. Runs inside the caller's transaction. Per table: one
 * look-up of the rows that may match (by date and api_key, both indexed), matched in memory by the
 * table's unique key; one UPDATE per existing row; one multi-row INSERT for the new ones.
 */
export async function applyDailyAdditions(
  trx: Kysely<SpendSchema>,
  dialect: DatabaseDialect,
  shapeOf: (table: string) => DailyTableShape,
  additions: readonly DailyAddition[],
  now: number,
): Promise<void> {
  const updatedAt = encodeTime(dialect, now);
  for (const entity of ENTITIES) {
    const rows = additions.filter((a) => a.entity === entity);
    if (rows.length === 0) continue;
    const { table, column } = DAILY_TABLES[entity];
    const { columns, uniqueKeys } = shapeOf(table);
    const keyColumns = dailyKeyColumns(column, uniqueKeys, columns);
    // NULL and '' both mean "none" in LiteLLM's rows (it wrote both over time): compare as text, '' for NULL.
    const identity = (values: (c: string) => string | undefined): string => JSON.stringify(keyColumns.map((c) => values(c) ?? null));
    // Batch entries that are one row of this table (its key may be coarser than the batch's, e.g. no endpoint).
    const groups = new Map<string, { key: DailyKey; sums: DailySums }>();
    for (const { key, sums } of [...rows].sort((x, y) => compareKeys(x.key, y.key))) {
      const id = identity((c) => keyValue(c, column, key));
      const group = groups.get(id);
      if (group === undefined) groups.set(id, { key, sums: { ...sums } });
      else addSums(group.sums, sums);
    }
    const existingIds = await findExisting(trx, table, keyColumns, column, groups, identity);
    const inserts: LooseRow[] = [];
    for (const [id, { key, sums }] of groups) {
      const rowId = existingIds.get(id);
      if (rowId !== undefined) {
        const { text: updateText, fields } = updateStatement(dialect, table, columns, entity === 'tag');
        const params: unknown[] = [];
        for (const f of fields) params.push(f === 'updatedAt' ? updatedAt : sums[f]);
        params.push(rowId);
        await trx.executeQuery(CompiledQuery.raw(updateText, params));
        continue;
      }
      inserts.push(
        existing(
          {
            id: randomUUID(),
            [column]: key.entityId,
            date: key.date,
            api_key: key.apiKey,
            model: key.model,
            model_group: key.modelGroup,
            custom_llm_provider: key.provider,
            mcp_namespaced_tool_name: '',
            endpoint: key.endpoint,
            prompt_tokens: sums.prompt,
            completion_tokens: sums.completion,
            cache_read_input_tokens: sums.cacheRead,
            cache_creation_input_tokens: sums.cacheCreation,
            spend: sums.spend,
            api_requests: sums.requests,
            successful_requests: sums.succeeded,
            failed_requests: sums.failed,
            created_at: updatedAt,
            updated_at: updatedAt,
            ...(entity === 'tag' ? { request_id: sums.requestId } : {}),
          },
          columns,
        ),
      );
    }
    for (let i = 0; i < inserts.length; i += CHUNK) await trx.insertInto(table).values(inserts.slice(i, i + CHUNK)).execute();
  }
}

/** The ids of stored rows the batch's groups add to, by group identity (the first row found wins). */
async function findExisting(
  trx: Kysely<SpendSchema>,
  table: string,
  keyColumns: readonly string[],
  entityColumn: string,
  groups: ReadonlyMap<string, { key: DailyKey }>,
  identity: (values: (c: string) => string | undefined) => string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const dates = [...new Set([...groups.values()].map((g) => g.key.date))];
  const keys = [...new Set([...groups.values()].map((g) => g.key.apiKey))];
  for (let d = 0; d < dates.length; d += CHUNK) {
    for (let k = 0; k < keys.length; k += CHUNK) {
      const rows = await trx
        .selectFrom(table)
        .select([sql<string>`id`.as('id'), ...keyColumns.map((c) => sql.ref(c).as(`k_${c}`))])
        .where(sql<boolean>`${sql.ref('date')} in (${sql.join(dates.slice(d, d + CHUNK))})`)
        .where(sql<boolean>`${sql.ref('api_key')} in (${sql.join(keys.slice(k, k + CHUNK))})`)
        .orderBy(sql`id`)
        .execute();
      for (const r of rows) {
        const id = identity((c) => {
          // Columns the batch cannot match on stay out of the identity, as they do for the groups.
          if (keyValue(c, entityColumn, PROBE) === undefined) return undefined;
          const v = (r as LooseRow)[`k_${c}`];
          return v === null || v === undefined ? '' : text(v);
        });
        if (!found.has(id)) found.set(id, text(r.id));
      }
    }
  }
  return found;
}

function compareKeys(a: DailyKey, b: DailyKey): number {
  const fields = ['date', 'entityId', 'apiKey', 'model', 'provider', 'endpoint'] as const;
  for (const f of fields) {
    if (a[f] !== b[f]) return a[f] < b[f] ? -1 : 1;
  }
  return 0;
}

/** Any key: only used to ask keyValue which columns it knows. */
const PROBE: DailyKey = { entityId: '', date: '', apiKey: '', model: '', modelGroup: '', provider: '', endpoint: '' };

/** Rows of one daily table in an inclusive date range, oldest first. */
export async function readDaily(db: Kysely<SpendSchema>, catalog: ColumnCatalog, query: DailyActivityQuery): Promise<DailySpendRow[]> {
  const { table, column } = DAILY_TABLES[query.entity];
  const columns = await catalog.columns(table);
  let q = db
    .selectFrom(table)
    .selectAll()
    .where(sql<boolean>`${sql.ref('date')} >= ${query.startDate}`)
    .where(sql<boolean>`${sql.ref('date')} <= ${query.endDate}`);
  if (query.ids !== undefined && query.ids.length > 0) q = q.where(sql<boolean>`${sql.ref(column)} in (${sql.join([...query.ids])})`);
  if (query.apiKey !== undefined) q = q.where(sql<boolean>`${sql.ref('api_key')} = ${query.apiKey}`);
  if (query.model !== undefined) q = q.where(sql<boolean>`${sql.ref('model')} = ${query.model}`);
  const rows = await q.orderBy(sql.ref('date')).orderBy(sql.ref(column)).orderBy(sql.ref('api_key')).orderBy(sql.ref('model')).execute();
  return rows.map((r) => ({
    entity_id: textOrNull(r[column]),
    date: text(r.date),
    api_key: text(r.api_key),
    model: textOrNull(r.model),
    model_group: columns.has('model_group') ? textOrNull(r.model_group) : null,
    custom_llm_provider: textOrNull(r.custom_llm_provider),
    mcp_namespaced_tool_name: columns.has('mcp_namespaced_tool_name') ? textOrNull(r.mcp_namespaced_tool_name) : null,
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    cache_read_input_tokens: num(r.cache_read_input_tokens),
    cache_creation_input_tokens: num(r.cache_creation_input_tokens),
    spend: num(r.spend),
    api_requests: num(r.api_requests),
    successful_requests: num(r.successful_requests),
    failed_requests: num(r.failed_requests),
  }));
}
