/**
 * The traffic the dashboards and alert rules are tested against: a real gateway in front of fake
 * upstreams, driven so that every panel has data and every alert has the situation it is written
 * for — successes, upstream 500s, a 429 that cools a deployment down, a fallback that works and one
 * that fails, a deployment too slow for its timeout (latency and overhead), a key and a team spent
 * near their budget, a model without a price, provider prompt-cache writes and reads, response-cache
 * hits and misses — plus a second gateway whose Redis is a closed port (Redis down).
 */
import { randomUUID } from 'node:crypto';
import { countTokens } from 'gpt-tokenizer';
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { ANTHROPIC_FAKE_KEY, OPENAI_FAKE_KEY, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { adminPost } from '../helpers/calls.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../metrics/prometheus-runner.js';

export const MASTER = 'sk-deploy-rules';
const REPLY = 'near the budget';
/** USD per call of the `budget` model: $0.01 per output token, nothing for input. */
export const BUDGET_CALL_USD = countTokens(REPLY) * 0.01;
/** A max budget one call spends 95% of: remaining / max = 0.05, under the alert's 0.1. */
export const BUDGET_MAX_USD = BUDGET_CALL_USD / 0.95;

export interface Scenario {
  /** `host:port` of the gateway with the traffic, and of the one whose Redis is down. */
  main: string;
  redisDown: string;
  /** Runs the traffic once; call it twice (a scrape apart) so counters increase, not just appear. */
  run: () => Promise<void>;
  close: () => Promise<void>;
}

function config(f: Record<'gptA' | 'gptB' | 'flaky' | 'backup' | 'slowA' | 'slowB' | 'unpriced', string>, anthropic: string): string {
  const oa = (url: string): string => `api_base: "${url}/v1", api_key: ${OPENAI_FAKE_KEY}`;
  return `
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.gptA)}, order: 1 }
    model_info: { id: gpt-a }
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.gptB)}, order: 2, rpm: 6000, tpm: 1000000 }
    model_info: { id: gpt-b }
  - model_name: flaky
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.flaky)}, num_retries: 0 }
    model_info: { id: flaky-1 }
  - model_name: backup
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.backup)}, num_retries: 0 }
    model_info: { id: backup-1 }
  - model_name: slow
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.slowA)}, order: 1, timeout: 1.2, stream_timeout: 1.2 }
    model_info: { id: slow-a }
  - model_name: slow
    litellm_params: { model: openai/gpt-4o-mini, ${oa(f.slowB)}, order: 2 }
    model_info: { id: slow-b }
  - model_name: unpriced
    litellm_params: { model: openai/tollgate-unpriced-model, ${oa(f.unpriced)} }
    model_info: { id: unpriced-1 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic}", api_key: ${ANTHROPIC_FAKE_KEY} }
    model_info: { id: claude-1 }
  - model_name: budget
    litellm_params: { model: mock/budget, mock_response: "${REPLY}", input_cost_per_token: 0, output_cost_per_token: 0.01 }
    model_info: { id: budget-1 }
router_settings:
  retry_after: 0
  cooldown_time: 1
  fallbacks: [{ flaky: [backup] }]
litellm_settings:
  cache: true
  cache_params: { type: local, ttl: 600, mode: default_off }
general_settings: { master_key: ${MASTER} }
`;
}

async function post(url: string, key: string, path: string, body: object): Promise<number> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

const chat = (model: string, extra: object = {}): object => ({ model, messages: [{ role: 'user', content: `hello ${randomUUID()}` }], ...extra });

export async function startScenario(): Promise<Scenario> {
  const names = ['gptA', 'gptB', 'flaky', 'backup', 'slowA', 'slowB', 'unpriced'] as const;
  const fakes = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await startFakeOpenAI()] as const))) as Record<(typeof names)[number], FakeUpstream>;
  const anthropic = await startFakeAnthropic();
  const urls = Object.fromEntries(names.map((n) => [n, fakes[n].url])) as Record<(typeof names)[number], string>;
  const gw: TestGateway = await startGateway(config(urls, anthropic.url));

  // Redis down: the shared state points at a closed port; fail_open keeps serving, and every
  // shared-state command fails (litellm_redis_failed_requests_total).
  const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
  const redisYaml = `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
general_settings: { master_key: ${MASTER}, redis_failure_mode: fail_open }
`;
  const down: Gateway = createGateway(parseConfigText(redisYaml, 'redis-down.yaml', env), { env, databaseUrl: ':memory:' });
  const downUrl = await down.listen(0, '127.0.0.1');

  // One call of the first key spends 95% of its own, its team's and its org's budget.
  await adminPost(gw.url, MASTER, '/organization/new', { organization_id: 'org-near', organization_alias: 'near-org', max_budget: BUDGET_MAX_USD });
  const team = (await adminPost(gw.url, MASTER, '/team/new', { team_alias: 'near-limit', organization_id: 'org-near', max_budget: BUDGET_MAX_USD, budget_duration: '30d' })) as { team_id: string };
  await adminPost(gw.url, MASTER, '/user/new', { user_id: 'near-user', max_budget: BUDGET_MAX_USD });
  const key = (await adminPost(gw.url, MASTER, '/key/generate', { key_alias: 'near-limit-key', team_id: team.team_id, max_budget: BUDGET_MAX_USD, budget_duration: '30d' })) as { key: string };
  // A user's budget covers their personal keys, not team keys (as in LiteLLM): a key of its own.
  const userKey = (await adminPost(gw.url, MASTER, '/key/generate', { key_alias: 'near-user-key', user_id: 'near-user' })) as { key: string };
  let budgetSpent = false;

  const run = async (): Promise<void> => {
    const statuses: number[] = [];
    const send = async (body: object, path = '/v1/chat/completions', k = MASTER): Promise<void> => {
      statuses.push(await post(gw.url, k, path, body));
    };
    for (let i = 0; i < 6; i++) await send(chat('gpt'));
    await send(chat('gpt', { stream: true, stream_options: { include_usage: true } }));
    // A 429 from gpt-a: retried on gpt-b at once, and gpt-a cools down (for 1 s, so the next run sees it again).
    fakes.gptA.script([{ status: 429, retryAfter: 1 }]);
    await send(chat('gpt'));
    // flaky fails: the fallback to backup answers; then both fail and the client gets the 500.
    fakes.flaky.script([{ status: 500 }]);
    await send(chat('flaky'));
    fakes.flaky.script([{ status: 500 }]);
    fakes.backup.script([{ status: 500 }]);
    await send(chat('flaky'));
    // slow-a answers after its timeout: retried on slow-b, so the gateway added over a second.
    fakes.slowA.script([{ kind: 'delay', ms: 3000 }, { kind: 'delay', ms: 3000 }]);
    await Promise.all([send(chat('slow')), send(chat('slow', { stream: true }))]);
    await send(chat('unpriced'));
    // Provider prompt cache: a new cached system prompt each run, written (5m, then 1h) then read.
    const system = [{ type: 'text', text: `a long system prompt worth caching ${randomUUID()}`, cache_control: { type: 'ephemeral' } }];
    const system1h = [{ type: 'text', text: `an hour-long system prompt ${randomUUID()}`, cache_control: { type: 'ephemeral', ttl: '1h' } }];
    for (const s of [system, system, system1h, system1h]) await send({ model: 'claude', max_tokens: 20, system: s, messages: [{ role: 'user', content: 'hi' }] }, '/v1/messages');
    // Response cache (mode default_off: only on request): a miss, then a hit.
    const cached = chat('gpt', { cache: { 'use-cache': true } });
    await send(cached);
    await send(cached);
    if (!budgetSpent) {
      for (const k of [key.key, userKey.key]) await send({ model: 'budget', messages: [{ role: 'user', content: 'hi' }] }, '/v1/chat/completions', k);
      budgetSpent = true;
    }
    statuses.push(await post(downUrl, MASTER, '/v1/chat/completions', chat('gpt-4o-mini')));
    const failed = statuses.filter((s) => s !== 200);
    // Exactly one client error is scripted: the fallback that fails too.
    if (failed.length !== 1 || failed[0] !== 500) throw new Error(`unexpected statuses ${JSON.stringify(statuses)}`);
  };

  return {
    main: new URL(gw.url).host,
    redisDown: new URL(downUrl).host,
    run,
    close: async () => {
      await Promise.all([gw.close(), down.close()]);
      await Promise.all([...names.map((n) => fakes[n].close()), anthropic.close()]);
    },
  };
}
