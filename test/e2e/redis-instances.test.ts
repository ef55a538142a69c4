/**
 * Three real Tollgate servers started together on one empty Postgres and one real Redis, configured
 * the way a LiteLLM user configures Redis (`router_settings.redis_host`/`redis_port`). Over HTTP:
 * a key created on one instance works on the others within a second — with the poll interval
 * (`user_api_key_cache_ttl`) set to a minute, so only the pushed signal can explain it — and so does
 * blocking it; an `rpm_limit: 60` key admits exactly 60 of 300 concurrent calls spread over the
 * three; a `max_budget` key under concurrent load over the three overshoots by at most one call,
 * and `/spend/logs?api_key=` lists exactly one row per answered call with Σ spend = Σ call costs;
 * a deployment cooled down by a 429 on one instance is skipped by the others; readiness and the
 * `litellm_redis_*` metrics say Redis is in use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { adminPost, chatCompletion, msUntil } from '../helpers/calls.js';
import { OPENAI_FAKE_KEY, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { BACKENDS, createPostgresSchema } from '../storage/backends.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';

const MASTER = 'sk-master-redis-e2e';
const postgresSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;
const skip = postgresSkip ?? redisSkip;
const redis = new URL(REDIS_URL);

// `flaky`: one deployment that always answers 429 (a cooldown at once) and one that works.
const yaml = (prefix: string, bad: FakeUpstream): string => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
  - model_name: priced
    litellm_params: { model: mock/priced, input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
  - model_name: flaky
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${bad.url}/v1", api_key: ${OPENAI_FAKE_KEY} }
    model_info: { id: flaky-bad }
  - model_name: flaky
    litellm_params: { model: mock/gpt-4o-mini }
    model_info: { id: flaky-good }
router_settings: { cooldown_time: 120, redis_host: "${redis.hostname}", redis_port: ${redis.port === '' ? 6379 : Number(redis.port)} }
general_settings: { master_key: ${MASTER}, user_api_key_cache_ttl: 60, proxy_batch_write_at: 0.2, redis_key_prefix: "${prefix}" }
`;

const chat = chatCompletion;
const admin = (url: string, path: string, body: object): Promise<Record<string, unknown>> => adminPost(url, MASTER, path, body);

describe.skipIf(skip !== undefined)(`three servers on one Postgres and one Redis${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  let drop: () => Promise<void> = () => Promise.resolve();
  let bad: FakeUpstream;

  beforeAll(async () => {
    bad = await startFakeOpenAI();
    bad.script(Array.from({ length: 500 }, () => ({ status: 429 })));
    const schema = await createPostgresSchema();
    drop = schema.drop;
    const text = yaml(testPrefix(), bad);
    for (let i = 0; i < 3; i++) gateways.push(createGateway(parseConfigText(text, 'config.yaml', {}), { env: {}, databaseUrl: schema.url }));
    // Started at the same moment on the empty database: the migrations must not trip over each other.
    urls.push(...(await Promise.all(gateways.map((g) => g.listen(0, '127.0.0.1')))));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await bad.close();
    await drop();
  });

  it('says at startup and in readiness that state is shared through Redis', async () => {
    expect(gateways[0]!.stateMode).toContain(`shared through Redis redis://${redis.hostname}:`);
    expect(gateways[0]!.stateMode).toContain('from router_settings.redis_host');
    expect(gateways[0]!.stateMode).toContain('redis_failure_mode fail_closed');
    expect(gateways[0]!.warnings.join('\n')).not.toContain('router_settings.redis');
    const res = await fetch(`${urls[1]}/health/readiness`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'connected', cache: 'redis', redis: 'connected', redis_failure_mode: 'fail_closed' });
  });

  it('a key created, updated, then blocked, on one instance is honoured by the others within a second', async () => {
    const { key } = (await admin(urls[0]!, '/key/generate', {})) as { key: string };
    for (const url of urls.slice(1)) {
      const ms = await msUntil(async () => (await chat(url, key)).status === 200, 1000);
      expect(ms).toBeLessThan(1000);
    }
    // Updated: its models no longer include the one called.
    await admin(urls[0]!, '/key/update', { key, models: ['flaky'] });
    for (const url of urls.slice(1)) {
      const ms = await msUntil(async () => (await chat(url, key)).status === 403, 1000);
      expect(ms).toBeLessThan(1000);
    }
    await admin(urls[0]!, '/key/update', { key, models: [] });
    for (const url of urls.slice(1)) expect(await msUntil(async () => (await chat(url, key)).status === 200, 1000)).toBeLessThan(1000);
    await admin(urls[0]!, '/key/block', { key });
    for (const url of urls.slice(1)) {
      const ms = await msUntil(async () => (await chat(url, key)).status !== 200, 1000);
      expect(ms).toBeLessThan(1000);
      const refused = await chat(url, key);
      expect(refused.status).toBe(401);
    }
  });

  it('an rpm_limit of 60 admits exactly 60 of 300 concurrent calls spread over the three', async () => {
    const { key } = (await admin(urls[2]!, '/key/generate', { rpm_limit: 60 })) as { key: string };
    // Known everywhere first (the signal, as above), without spending any of its 60.
    for (const g of gateways) await g.tenancy.sync(true);
    const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(urls[i % 3]!, key).then(async (r) => (await r.arrayBuffer(), r.status))));
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(240);
    // Each instance sent its admissions to Redis: LiteLLM's service metrics count them.
    const metrics = await (await fetch(`${urls[1]}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } })).text();
    const total = Number(/^litellm_redis_total_requests_total\{redis="redis"\} (\d+)/m.exec(metrics)?.[1]);
    expect(total).toBeGreaterThanOrEqual(100);
    expect(metrics).toMatch(/^litellm_redis_latency_count\{redis="redis"\} \d+/m);
  });

  it('a deployment cooled down on one instance is skipped by the others', async () => {
    // Until the bad deployment has been tried once on instance 0 (its 429 cools it down at once).
    for (let i = 0; i < 50 && bad.requests.length === 0; i++) expect((await chat(urls[0]!, MASTER, 'flaky')).status).toBe(200);
    expect(bad.requests).toHaveLength(1);
    // Were cooldowns per instance, each of these would pick the bad deployment half the time.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(urls[1 + (i % 2)]!, MASTER, 'flaky')));
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 40 }, () => 200));
    expect(answers.map((r) => r.headers.get('x-litellm-model-id'))).toEqual(Array.from({ length: 40 }, () => 'flaky-good'));
    expect(bad.requests).toHaveLength(1);
  });

  it('a max_budget key under concurrent load over the three overshoots by at most one call; /spend/logs lists each call once', async () => {
    const priced = async (url: string, key: string): Promise<{ status: number; cost: number }> => {
      const res = await chat(url, key, 'priced');
      await res.arrayBuffer();
      return { status: res.status, cost: Number(res.headers.get('x-litellm-response-cost') ?? 0) };
    };
    // One call's cost, measured through the gateway with the master key.
    const probe = await priced(urls[0]!, MASTER);
    expect(probe.status).toBe(200);
    const callCost = probe.cost;
    expect(callCost).toBeGreaterThan(0);
    const budget = 10.5 * callCost;
    const { key, token } = (await admin(urls[0]!, '/key/generate', { max_budget: budget })) as { key: string; token: string };
    for (const g of gateways) await g.tenancy.sync(true);
    const answered: number[] = [];
    for (let wave = 0; wave < 8; wave++) {
      const results = await Promise.all(Array.from({ length: 9 }, (_, i) => priced(urls[i % 3]!, key)));
      for (const r of results) if (r.status === 200) answered.push(r.cost);
      expect(results.every((r) => r.status === 200 || r.status === 400 || r.status === 429)).toBe(true);
    }
    const spent = answered.reduce((a, b) => a + b, 0);
    // Refused once the budget is reached; the last admitted calls may cross it by one call at most.
    expect(answered.length).toBeGreaterThanOrEqual(10);
    expect(spent - budget).toBeLessThanOrEqual(callCost * 1.0001);
    // Every answered call has exactly one spend row, whichever instance served it.
    for (const g of gateways) await g.spendWriter.flush();
    const logs = (await (await fetch(`${urls[1]}/spend/logs?api_key=${encodeURIComponent(key)}`, { headers: { authorization: `Bearer ${MASTER}` } })).json()) as { request_id: string; spend: number; api_key: string; status: string }[];
    // Refused calls are logged too (status failure, no spend), as LiteLLM logs them.
    expect(logs).toHaveLength(8 * 9);
    expect(logs.every((l) => l.api_key === token)).toBe(true);
    const succeeded = logs.filter((l) => l.status === 'success');
    expect(succeeded).toHaveLength(answered.length);
    expect(new Set(succeeded.map((l) => l.request_id)).size).toBe(answered.length);
    expect(succeeded.reduce((a, l) => a + l.spend, 0)).toBeCloseTo(spent, 9);
    expect(logs.filter((l) => l.status !== 'success').reduce((a, l) => a + l.spend, 0)).toBe(0);
  });
});
