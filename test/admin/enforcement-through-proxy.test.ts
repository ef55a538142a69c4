/**
 * Admission enforced on real traffic through the real server: worst-case budget reservation under
 * 50 parallel requests, `max_parallel_requests` slots released on every way a call can end
 * (upstream error, client abort mid-stream, success), and a customer (the request's `user` field)
 * with a budget of its own. Costs are exact: the mock model with per-token prices in litellm_params.
 */
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservedCounter, scopeOf } from '../../src/policy/scopes.js';
import { leaseReads, parallelReads } from '../../src/policy/parallel-slots.js';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

const REPLY = 'four tokens of reply';
const SLOW_REPLY = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
// $0.00000001 per input token, $0.00001 per output token (no cache-write rates: a 1h write is billed at
// 2x input). Input is cheap so a reservation with max_tokens = the reply's tokens is close to the real cost.
const IN = 10; // nano-USD per input token
const OUT = 10_000; // nano-USD per output token
const PRICES = 'input_cost_per_token: 0.00000001, output_cost_per_token: 0.00001';

describe('admission enforced on proxied requests', () => {
  let gw: TestGateway;
  let fake: FakeUpstream;
  const post = (path: string, body: unknown, key: string, signal?: AbortSignal) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const admin = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await post(path, body, 'sk-1234');
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const keyInfo = async (key: string) =>
    ((await (await fetch(`${gw.url}/key/info?key=${key}`, { headers: { authorization: 'Bearer sk-1234' } })).json()) as { info: { spend: number } }).info;
  /** Settlement runs after the call record is written; let it and the spend flush happen. */
  const settle = async (calls: number) => {
    await waitForCalls(gw.gateway, calls);
    await new Promise((r) => setTimeout(r, 20));
  };

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway(`
model_list:
  - model_name: priced
    litellm_params: { model: mock/priced, mock_response: "${REPLY}", ${PRICES} }
  - model_name: slow-stream
    litellm_params: { model: mock/slow, mock_response: "${SLOW_REPLY}", mock_tokens_per_second: 20, ${PRICES} }
  - model_name: slow-json
    litellm_params: { model: mock/slow-json, mock_response: "${REPLY}", mock_latency_ms: 400, ${PRICES} }
  - model_name: flaky
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${fake.url}/v1", api_key: sk-openai-fake, num_retries: 0, ${PRICES} }
general_settings: { master_key: sk-1234 }
`);
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('50 parallel calls against a budget for 10: at least 10 served, the rest 400 budget_exceeded (as in LiteLLM), spend within one reservation', async () => {
    const maxTokens = countTokens(REPLY);
    // slow-json answers after 400 ms, so all 50 are in flight at once.
    const body = { model: 'slow-json', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] };
    // Reservation (admitCall): ceil(body bytes / 4) input tokens priced at the dearest input-side
    // rate (a 1h cache write, 2x input, as no cache-write rate is configured) + max_tokens output.
    const estimatedInput = Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4);
    const reservation = estimatedInput * 2 * IN + maxTokens * OUT;
    // Real cost: the mock's prompt tokens and reply tokens.
    const cost = countTokens('hi') * IN + countTokens(REPLY) * OUT;
    expect(cost).toBeLessThan(reservation);
    // A budget that affords 10 calls; in flight each holds a (slightly larger) reservation, so a
    // refusal means admitted × reservation ≥ budget: at least ceil(budget / reservation) = 10 served.
    const budgetNano = 10 * cost;
    const affordable = Math.ceil(budgetNano / reservation);
    expect(affordable).toBe(10);
    const { key } = await admin<{ key: string }>('/key/generate', { key_alias: 'parallel-budget', max_budget: budgetNano / 1e9 });

    const before = gw.gateway.calls.records().length;
    const responses = await Promise.all(Array.from({ length: 50 }, () => post('/v1/chat/completions', body, key)));
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 400);
    expect(ok.length + refused.length).toBe(50);
    expect(ok.length).toBeGreaterThanOrEqual(affordable);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of ok) expect(Math.round(Number(r.headers.get('x-litellm-response-cost')) * 1e9)).toBe(cost);
    for (const r of refused) expect(((await r.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
    await Promise.all(ok.map((r) => r.arrayBuffer()));

    await settle(before + ok.length);
    const spendNano = Math.round((await keyInfo(key)).spend * 1e9);
    expect(spendNano).toBe(ok.length * cost);
    // Over the budget by less than one reservation: the last admission saw spend + reserved below it.
    expect(spendNano).toBeLessThan(budgetNano + reservation);
    // A settled budget is used up: the next call is refused.
    const after = await post('/v1/chat/completions', body, key);
    if (spendNano >= budgetNano) expect(after.status).toBe(400);
    else expect(after.status).toBe(200);
    await after.arrayBuffer();
  });

  describe('max_parallel_requests: 1', () => {
    let key: string;
    let calls: number;
    const chat = (model: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
      post('/v1/chat/completions', { model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], ...extra }, key, signal);
    const nextIsAdmitted = async () => {
      const res = await chat('priced');
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      calls += 1;
      await settle(calls);
    };

    beforeAll(async () => {
      key = (await admin<{ key: string }>('/key/generate', { key_alias: 'one-at-a-time', max_parallel_requests: 1, max_budget: 100 })).key;
      calls = gw.gateway.calls.records().length;
    });

    it('an upstream 500 releases the slot and the reservation', async () => {
      fake.script([{ status: 500 }]);
      const res = await chat('flaky');
      expect(res.status).toBe(500);
      await res.arrayBuffer();
      calls += 1;
      await settle(calls);
      await nextIsAdmitted();
    });

    it('a client that aborts a slow stream mid-way releases the slot and the reservation', async () => {
      const abort = new AbortController();
      const res = await chat('slow-stream', { stream: true }, abort.signal);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      abort.abort();
      await reader.read().catch(() => undefined);
      calls += 1;
      await settle(calls);
      const aborted = gw.gateway.calls.records().at(-1);
      expect(aborted?.principal.keyAlias).toBe('one-at-a-time');
      await nextIsAdmitted();
    });

    it('a success releases the slot; two truly concurrent calls get one 200 and one 429 with retry-after', async () => {
      await nextIsAdmitted();
      await nextIsAdmitted();
      const [a, b] = await Promise.all([chat('slow-json'), chat('slow-json')]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([200, 429]);
      const refused = a.status === 429 ? a : b;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-ratelimit-limit-parallel-requests')).toBe('1');
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/max_parallel_requests/);
      await (a.status === 200 ? a : b).arrayBuffer();
      calls += 1;
      await settle(calls);
      await nextIsAdmitted();
      // No slot and no reservation leaked on any of those paths: nothing is in flight for the key.
      const record = [...gw.gateway.tenancy.keys.values()].find((k) => k.key_alias === 'one-at-a-time');
      expect(record).toBeDefined();
      const scope = scopeOf('key', record!.token);
      const periodEnd = gw.gateway.tenancy.clock.end(record!.budget_duration, gw.gateway.tenancy.now());
      const now = gw.gateway.tenancy.now();
      expect(await gw.gateway.tenancy.state.get([...leaseReads(reservedCounter(scope, periodEnd), now), ...parallelReads(scope, now)])).toEqual([0, 0, 0, 0]);
      expect((await keyInfo(key)).spend).toBeGreaterThan(0);
    });
  });

  it('a customer (the request `user` field) with its own budget is refused with 400 budget_exceeded once over', async () => {
    const { key } = await admin<{ key: string }>('/key/generate', { key_alias: 'customer-facing' });
    const maxTokens = 10;
    const cost = countTokens('hi') * IN + countTokens(REPLY) * OUT;
    const budgetNano = 3 * cost;
    await admin('/customer/new', { user_id: 'cust-enf', max_budget: budgetNano / 1e9 });
    const body = { model: 'priced', max_tokens: maxTokens, user: 'cust-enf', messages: [{ role: 'user', content: 'hi' }] };
    const reservation = Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4) * 2 * IN + maxTokens * OUT;

    let served = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const calls = gw.gateway.calls.records().length;
      const res = await post('/v1/chat/completions', body, key);
      if (res.status === 400) refused = res;
      else {
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        served += 1;
        await settle(calls + 1);
      }
    }
    expect(refused).toBeDefined();
    expect(served).toBeGreaterThanOrEqual(Math.floor(budgetNano / reservation));
    expect(served * cost).toBeGreaterThanOrEqual(budgetNano);
    expect(served * cost).toBeLessThan(budgetNano + reservation);
    const error = ((await refused!.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('budget_exceeded');
    expect(error.message).toContain('End User=cust-enf');
    // Another end user on the same key is not affected.
    const other = await post('/v1/chat/completions', { ...body, user: 'cust-other' }, key);
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });
});
