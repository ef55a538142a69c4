/**
 * LiteLLM's `model_spend` column written by another tool, seen by the real server within the
 * refresh interval, on a Postgres database LiteLLM's migrations made and on SQLite: a key with a
 * per-model budget (`model_max_budget`) made by LiteLLM with spend already in `model_spend` is
 * served counting from it, a call adds to it, a `model_spend` raised over the model budget by SQL
 * refuses the model (LiteLLM's 400 budget_exceeded) while other models are still served, and a
 * reset to `{}` by SQL (LiteLLM's budget reset) serves it again, counting from 0: no flush writes
 * the old total back.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/server.js';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { createLiteLLMPostgres, type LiteLLMPostgres } from '../storage/litellm-fixture-db.js';
import { CALL_COST, chatOn, eventually, gatewayOn, pricedConfig, REFRESH_S, SLOW_WITHIN, WITHIN, type Run } from './litellm-db-harness.js';

const PLAINTEXT = 'sk-made-by-litellm-model-spend-01';
const TOKEN = createHash('sha256').update(PLAINTEXT).digest('hex');
/** The key's budget for gpt-x (USD); its model_spend starts at SEEDED. */
const MODEL_BUDGET = 0.5;
const SEEDED = 0.1;


/** The key as LiteLLM's `/key/generate` writes it, with a per-model budget and spend on gpt-x. */
async function insertKey(run: Run, list: (v: string[]) => string): Promise<void> {
  await run(
    `INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, models, max_budget, model_max_budget, model_spend)
     VALUES ('${TOKEN}', 'sk-...ms01', 'model-spend-key', ${SEEDED}, ${list(['gpt-x', 'gpt-y'])}, 1000.0,
             '${JSON.stringify({ 'gpt-x': { budget_limit: MODEL_BUDGET, time_period: null } })}', '${JSON.stringify({ 'gpt-x': SEEDED })}')`,
  );
}



/** The flow on one database; `run` writes as another tool would. */
async function modelSpendFlow(chat: (model: string) => Promise<Response>, run: Run): Promise<void> {
  const modelSpend = async (): Promise<Record<string, number>> => {
    const [row] = await run(`SELECT model_spend FROM "LiteLLM_VerificationToken" WHERE token = '${TOKEN}'`);
    const v = row?.model_spend;
    return (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, number>;
  };
  const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) < 1e-9;

  // Served, counting from LiteLLM's model_spend: the column grows from 0.1.
  expect((await chat('gpt-x')).status).toBe(200);
  await eventually('model_spend growing from the seeded 0.1', async () => (near((await modelSpend())['gpt-x'], SEEDED + CALL_COST) ? true : undefined), WITHIN);

  // Raised over the model budget by SQL: gpt-x refused within the refresh interval; gpt-y is not.
  await run(`UPDATE "LiteLLM_VerificationToken" SET model_spend = '${JSON.stringify({ 'gpt-x': 0.6 })}' WHERE token = '${TOKEN}'`);
  const refused = await eventually('the model budget refusal', async () => {
    const res = await chat('gpt-x');
    return res.status === 200 ? undefined : res;
  }, WITHIN);
  expect(refused.status).toBe(400);
  const error = ((await refused.json()) as { error: { type: string; message: string } }).error;
  expect(error.type).toBe('budget_exceeded');
  expect(error.message).toContain('exceeded budget for model=gpt-x');
  expect((await chat('gpt-y')).status).toBe(200);
  // The outside value stands: the calls admitted before the refusal took effect are added to it
  // (a whole number of calls), no flush wrote Tollgate's old total over it.
  const after = (await modelSpend())['gpt-x'] ?? 0;
  const calls = (after - 0.6) / CALL_COST;
  expect(calls).toBeGreaterThan(-1e-6);
  expect(Math.abs(calls - Math.round(calls))).toBeLessThan(1e-6);

  // Calls admitted just before the refusal may not be flushed yet, and a flush adds its delta to
  // whatever the entry holds (a reset now would count them after it): reset once it is settled.
  let settled = (await modelSpend())['gpt-x'];
  await eventually('model_spend settled', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const now = (await modelSpend())['gpt-x'];
    const same = now === settled;
    settled = now;
    return same ? true : undefined;
  }, SLOW_WITHIN);
  // Reset by SQL (LiteLLM's budget reset): served again, and counting from 0.
  await run(`UPDATE "LiteLLM_VerificationToken" SET model_spend = '{}' WHERE token = '${TOKEN}'`);
  await eventually('gpt-x served after model_spend reset', async () => ((await chat('gpt-x')).status === 200 ? true : undefined), WITHIN);
  await eventually('model_spend counting from 0', async () => (near((await modelSpend())['gpt-x'], CALL_COST) ? true : undefined), SLOW_WITHIN);
  await new Promise((r) => setTimeout(r, REFRESH_S * 1000 * 2));
  expect((await modelSpend())['gpt-x']).toBeCloseTo(CALL_COST, 12);
}

function start(fake: FakeUpstream, databaseUrl: string, dataDir: string): Gateway {
  return gatewayOn(pricedConfig(fake, ['gpt-x', 'gpt-y']), databaseUrl, dataDir);
}

describe('model_spend written by SQL, on a Postgres database LiteLLM made', () => {
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

  it('seeds from it, refuses the model once it is raised over the model budget, serves again once it is reset', async () => {
    made = await createLiteLLMPostgres('model_spend_e2e');
    const c = made.client;
    const run: Run = async (text) => (await c.query(text)).rows as Record<string, unknown>[];
    await insertKey(run, (v) => `ARRAY[${v.map((x) => `'${x}'`).join(',')}]::TEXT[]`);
    gateway = start(fake, made.url, tmpdir());
    const url = await gateway.listen(0, '127.0.0.1');
    await modelSpendFlow(chatOn(url, PLAINTEXT), run);
  });
});

describe('model_spend written by SQL, on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-model-spend-'));
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

  it('the same on the schema Tollgate creates, rows written by another connection', async () => {
    // The first start creates the schema; the key is then written by another connection.
    const first = start(fake, file, dir);
    await first.listen(0, '127.0.0.1');
    await first.close();
    sqlite = new Database(file);
    const db = sqlite;
    const run: Run = (text) => {
      const stmt = db.prepare(text);
      return Promise.resolve(stmt.reader ? (stmt.all() as Record<string, unknown>[]) : (stmt.run(), []));
    };
    await insertKey(run, (v) => `'${JSON.stringify(v)}'`);
    gateway = start(fake, file, dir);
    const url = await gateway.listen(0, '127.0.0.1');
    await modelSpendFlow(chatOn(url, PLAINTEXT), run);
  });
});
