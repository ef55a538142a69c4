/**
 * A database LiteLLM made, served as it is by the real server. Postgres: LiteLLM's own migration
 * files applied in order (test/fixtures/litellm-schema), then rows inserted exactly as LiteLLM's
 * proxy writes them — a key stored as the sha256 hex of its plaintext, USD spend, a budget_id link
 * to a LiteLLM_BudgetTable tier, a user, a team and an end user. Tollgate is started on that URL
 * with no migration command and must: authenticate the plaintext key, enforce its model list, meter
 * a call into the key's `spend`, a LiteLLM_SpendLogs row and the LiteLLM_DailyUserSpend row (the
 * price computed here from the fake's token counts), refuse the key once its spend reaches its
 * max_budget, serve it again once that spend is reset to 0, and refuse it once blocked, all written
 * by direct SQL and seen within the refresh interval. SQLite: the same flow on the schema Tollgate creates, rows written by SQL as LiteLLM would.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { countWords, OPENAI_REPLY_TEXT, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { createLiteLLMPostgres, type LiteLLMPostgres } from '../storage/litellm-fixture-db.js';
import { CALL_COST, chatOn, eventually, gatewayOn, MASTER, pricedConfig, PROMPT, REFRESH_S, SLOW_WITHIN, WITHIN, type Run } from './litellm-db-harness.js';

const PLAINTEXT = 'sk-made-by-litellm-e2e-0001';
const TOKEN = createHash('sha256').update(PLAINTEXT).digest('hex');

interface Dialect {
  bool: (v: boolean) => string;
  list: (v: string[]) => string;
  json: (v: object) => string;
}

/** Rows as LiteLLM's `/budget/new`, `/team/new`, `/user/new`, `/key/generate`, `/customer/new` write them. */
async function insertLiteLLMRows(run: Run, d: Dialect): Promise<void> {
  await run(`INSERT INTO "LiteLLM_BudgetTable" (budget_id, rpm_limit, created_by, updated_by) VALUES ('tier-e2e', 100, 'admin', 'admin')`);
  await run(`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, models, spend) VALUES ('team-e2e', 'Team E2E', ${d.list([])}, 0.0)`);
  await run(`INSERT INTO "LiteLLM_UserTable" (user_id, user_email, user_role, spend, teams) VALUES ('user-e2e', 'e2e@example.com', 'internal_user', 0.0, ${d.list(['team-e2e'])})`);
  await run(
    `INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, models, user_id, team_id, max_budget, budget_id, blocked, metadata)
     VALUES ('${TOKEN}', 'sk-...0001', 'e2e-key', 3.2, ${d.list(['gpt-x', 'gpt-y'])}, 'user-e2e', 'team-e2e', 5.0, 'tier-e2e', ${d.bool(false)}, ${d.json({})})`,
  );
  await run(`INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, spend, blocked) VALUES ('acme', 'Acme', 0.0, ${d.bool(false)})`);
}



/** Authentication, the model list, and one call metered into LiteLLM's tables (as end user `acme`). */
const chat_ = (url: string): ((model: string, key?: string) => Promise<Response>) => chatOn(url, PLAINTEXT, { user: 'acme' });

async function servesAndMeters(chat: (model: string, key?: string) => Promise<Response>, run: Run): Promise<void> {

  // The plaintext key authenticates (its hash is the row's token); a wrong key does not.
  expect((await chat('gpt-x', 'sk-not-a-key')).status).toBe(401);
  // Its model list is enforced.
  const denied = await chat('gpt-z');
  expect(denied.status).toBe(403);
  expect(((await denied.json()) as { error: { message: string } }).error.message).toContain("can only access models=['gpt-x', 'gpt-y']");

  // A call succeeds and is metered at the price computed here.
  const ok = await chat('gpt-x');
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  expect(body.usage).toMatchObject({ prompt_tokens: countWords(PROMPT), completion_tokens: countWords(OPENAI_REPLY_TEXT) });
  expect(Number(ok.headers.get('x-litellm-response-cost'))).toBeCloseTo(CALL_COST, 12);

  // The key's spend column grows from LiteLLM's 3.2.
  await eventually('the key spend column', async () => {
    const [row] = await run(`SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = '${TOKEN}'`);
    return Math.abs(Number(row?.spend) - (3.2 + CALL_COST)) < 1e-9 ? true : undefined;
  });
  // The call's LiteLLM_SpendLogs row, as LiteLLM writes it (the refused calls have theirs, status 'failure').
  const log = await eventually('a LiteLLM_SpendLogs row', async () => (await run(`SELECT * FROM "LiteLLM_SpendLogs" WHERE api_key = '${TOKEN}' AND status = 'success'`))[0]);
  expect(Number(log.spend)).toBeCloseTo(CALL_COST, 12);
  expect([log.model_group, Number(log.prompt_tokens), Number(log.completion_tokens), Number(log.total_tokens), log.user, log.team_id, log.end_user]).toEqual([
    'gpt-x',
    countWords(PROMPT),
    countWords(OPENAI_REPLY_TEXT),
    countWords(PROMPT) + countWords(OPENAI_REPLY_TEXT),
    'user-e2e',
    'team-e2e',
    'acme',
  ]);
  // The day's rows in LiteLLM_DailyUserSpend, one per model: the call's, and the refused gpt-z
  // call's (a failure, as LiteLLM counts it). Which one a query without ORDER BY returns first
  // depends on whether both were folded in one batch, so each is selected by its model.
  const dailyOf = (model: string) => async (): Promise<Record<string, unknown> | undefined> =>
    (await run(`SELECT * FROM "LiteLLM_DailyUserSpend" WHERE user_id = 'user-e2e' AND api_key = '${TOKEN}' AND model = '${model}'`))[0];
  const refusedDaily = await eventually('the refused call\'s LiteLLM_DailyUserSpend row', dailyOf('gpt-z'));
  expect([Number(refusedDaily.spend), Number(refusedDaily.api_requests), Number(refusedDaily.successful_requests), Number(refusedDaily.failed_requests)]).toEqual([0, 1, 0, 1]);
  const daily = await eventually('a LiteLLM_DailyUserSpend row', dailyOf('gpt-x'));
  expect(Number(daily.spend)).toBeCloseTo(CALL_COST, 12);
  expect([daily.date, Number(daily.prompt_tokens), Number(daily.completion_tokens), Number(daily.api_requests), Number(daily.successful_requests)]).toEqual([
    new Date().toISOString().slice(0, 10),
    countWords(PROMPT),
    countWords(OPENAI_REPLY_TEXT),
    1,
    1,
  ]);

}

const refusal = (chat: (model: string) => Promise<Response>): (() => Promise<Response | undefined>) => async () => {
  const res = await chat('gpt-x');
  return res.status === 200 ? undefined : res;
};

/** Spend set near max_budget by SQL (as LiteLLM's UI, its reset job or another instance would): LiteLLM's 400 budget_exceeded. */
async function refusesSpendWrittenBySql(chat: (model: string) => Promise<Response>, run: Run): Promise<void> {
  await run(`UPDATE "LiteLLM_VerificationToken" SET spend = 5.0 WHERE token = '${TOKEN}'`);
  const refused = await eventually('the budget refusal after spend = max_budget by SQL', refusal(chat), WITHIN);
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
}

/** max_budget lowered below the spend by SQL: refused the same way. */
async function refusesBudgetLoweredBySql(chat: (model: string) => Promise<Response>, run: Run): Promise<void> {
  await run(`UPDATE "LiteLLM_VerificationToken" SET max_budget = 1.0 WHERE token = '${TOKEN}'`);
  const refused = await eventually('the budget refusal after max_budget lowered by SQL', refusal(chat), WITHIN);
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
  await run(`UPDATE "LiteLLM_VerificationToken" SET max_budget = 1000.0 WHERE token = '${TOKEN}'`);
  await eventually('the key served again', async () => ((await chat('gpt-x')).status === 200 ? true : undefined), WITHIN);
}

/** What the gateway counts for the key (`/key/info` spend: flushed plus unflushed), in USD. */
const keySpendOn = (url: string) => async (): Promise<number> => {
  const res = await fetch(`${url}/key/info?key=${TOKEN}`, { headers: { authorization: `Bearer ${MASTER}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { info: { spend: number } }).info.spend;
};

/**
 * spend = 0 by SQL (LiteLLM's reset job, `/key/reset_spend` on a LiteLLM beside Tollgate): a key
 * refused at its budget is served again, and counting resumes from 0 — the next flush does not
 * write the old total back.
 */
async function servesAgainAfterSpendResetBySql(chat: (model: string) => Promise<Response>, run: Run, keySpend: () => Promise<number>): Promise<void> {
  const column = async (): Promise<number> => Number((await run(`SELECT spend FROM "LiteLLM_VerificationToken" WHERE token = '${TOKEN}'`))[0]?.spend);
  await run(`UPDATE "LiteLLM_VerificationToken" SET spend = 5.0, max_budget = 5.0 WHERE token = '${TOKEN}'`);
  expect((await eventually('the budget refusal', refusal(chat), WITHIN)).status).toBe(400);
  // Calls admitted before the refusal may not be flushed yet, and a flush adds its delta to
  // whatever the column holds (as LiteLLM's own `spend + delta` updates do), so a reset now would
  // count them after it. Reset once the column holds everything the gateway counts.
  await eventually('the spend served before the refusal flushed', async () => (Math.abs((await column()) - (await keySpend())) < 1e-9 ? true : undefined), WITHIN);
  await run(`UPDATE "LiteLLM_VerificationToken" SET spend = 0 WHERE token = '${TOKEN}'`);
  // The probe stops at the first success: exactly one call is spent after the reset.
  await eventually('the key served after spend reset to 0 by SQL', async () => ((await chat('gpt-x')).status === 200 ? true : undefined), WITHIN);
  await eventually('the key spend column counting from 0', async () => (Math.abs((await column()) - CALL_COST) < 1e-9 ? true : undefined), SLOW_WITHIN);
  // Admission counts from 0 too, and no later flush writes the old total back.
  await eventually('the gateway counting from 0', async () => (Math.abs((await keySpend()) - CALL_COST) < 1e-9 ? true : undefined), SLOW_WITHIN);
  await new Promise((r) => setTimeout(r, REFRESH_S * 1000 * 2));
  expect(await column()).toBeCloseTo(CALL_COST, 12);
  expect(await keySpend()).toBeCloseTo(CALL_COST, 12);
}

/** blocked = true by SQL: LiteLLM's 401 "Key is blocked". */
async function refusesKeyBlockedBySql(chat: (model: string) => Promise<Response>, run: Run, d: Dialect): Promise<void> {
  await run(`UPDATE "LiteLLM_VerificationToken" SET blocked = ${d.bool(true)} WHERE token = '${TOKEN}'`);
  const blocked = await eventually('the blocked refusal', refusal(chat), WITHIN);
  expect(blocked.status).toBe(401);
  expect(((await blocked.json()) as { error: { message: string } }).error.message).toContain('Key is blocked');
}

async function start(fake: FakeUpstream, databaseUrl: string, dataDir: string): Promise<{ gateway: Gateway; url: string }> {
  const gateway = gatewayOn(pricedConfig(fake, ['gpt-x', 'gpt-y', 'gpt-z']), databaseUrl, dataDir);
  const url = await gateway.listen(0, '127.0.0.1');
  return { gateway, url };
}

describe('the real server on a Postgres database LiteLLM made', () => {
  let fake: FakeUpstream;
  let made: LiteLLMPostgres | undefined;
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await gateway?.close();
    await made?.drop();
    await fake.close();
  });

  const d: Dialect = { bool: String, list: (v) => `ARRAY[${v.map((x) => `'${x}'`).join(',')}]::TEXT[]`, json: (v) => `'${JSON.stringify(v)}'` };
  let run: Run;
  let chat: ReturnType<typeof chatOn>;
  let keySpend: ReturnType<typeof keySpendOn>;

  it('is started on it with no migration command: the plaintext key authenticates, its models are enforced, a call is metered into LiteLLM\'s tables', async () => {
    made = await createLiteLLMPostgres('a1b_e2e');
    const c = made.client;
    run = async (text) => (await c.query(text)).rows as Record<string, unknown>[];
    await insertLiteLLMRows(run, d);
    const started = await start(fake, made.url, tmpdir());
    gateway = started.gateway;
    chat = chat_(started.url);
    keySpend = keySpendOn(started.url);
    await servesAndMeters(chat, run);
  });
  it('refuses the key once its spend column reaches max_budget by SQL, within the refresh interval', () => refusesSpendWrittenBySql(chat, run));
  it('refuses the key once max_budget is lowered by SQL, within the refresh interval', () => refusesBudgetLoweredBySql(chat, run));
  it('serves the key again once its spend column is reset to 0 by SQL, and counts from 0', () => servesAgainAfterSpendResetBySql(chat, run, keySpend));
  it('refuses the key once blocked by SQL, within the refresh interval', () => refusesKeyBlockedBySql(chat, run, d));
});

describe('the real server on SQLite with rows written as LiteLLM would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-litellm-e2e-'));
  const file = join(dir, 'tollgate.db');
  let fake: FakeUpstream;
  let gateway: Gateway | undefined;
  let sqlite: Database.Database | undefined;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await gateway?.close();
    sqlite?.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const d: Dialect = { bool: (v) => (v ? '1' : '0'), list: (v) => `'${JSON.stringify(v)}'`, json: (v) => `'${JSON.stringify(v)}'` };
  let run: Run;
  let chat: ReturnType<typeof chatOn>;
  let keySpend: ReturnType<typeof keySpendOn>;

  it('on the schema Tollgate creates: the plaintext key authenticates, its models are enforced, a call is metered into LiteLLM\'s tables', async () => {
    // First start creates the schema; the rows are then written by another connection, as another tool would.
    const first = await start(fake, file, dir);
    await first.gateway.close();
    sqlite = new Database(file);
    const db = sqlite;
    run = (text) => {
      const stmt = db.prepare(text);
      return Promise.resolve(stmt.reader ? (stmt.all() as Record<string, unknown>[]) : (stmt.run(), []));
    };
    await insertLiteLLMRows(run, d);
    const started = await start(fake, file, dir);
    gateway = started.gateway;
    chat = chat_(started.url);
    keySpend = keySpendOn(started.url);
    await servesAndMeters(chat, run);
  });
  it('refuses the key once its spend column reaches max_budget by SQL, within the refresh interval', () => refusesSpendWrittenBySql(chat, run));
  it('refuses the key once max_budget is lowered by SQL, within the refresh interval', () => refusesBudgetLoweredBySql(chat, run));
  it('serves the key again once its spend column is reset to 0 by SQL, and counts from 0', () => servesAgainAfterSpendResetBySql(chat, run, keySpend));
  it('refuses the key once blocked by SQL, within the refresh interval', () => refusesKeyBlockedBySql(chat, run, d));
});
