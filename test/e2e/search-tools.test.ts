/**
 * LiteLLM's search tools end to end: the real gateway with a `search_tools:` config against fake
 * Perplexity, Tavily, Exa and Brave APIs. For each provider: the request as it reaches the
 * provider (LiteLLM's mapping of the unified parameters), the LiteLLM-shaped answer, the call
 * record and the spend-log row with the per-query price (worked out here from LiteLLM's price
 * table). Then bad bodies (400 naming the field), unknown tools (404), per-key search access
 * (403) and budgets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { parseConfigText } from '../../src/config/loader.js';
import { buildSearchTools } from '../../src/config/search-tools.js';
import type { CallRecord } from '../../src/core/call-record.js';
import { errors } from '../../src/core/errors.js';
import { SearchRouter } from '../../src/routing/search.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { adminPost } from '../helpers/calls.js';
import { searchHit, SEARCH_FAKE_KEYS, startSearchFake, type SearchFake } from '../fakes/search-upstream.js';
import { MASTER_KEY, newCallId, postJson, recordFor, sleep } from './harness.js';

// LiteLLM's prices (model_prices_and_context_window.json, `<provider>/search`), USD per query.
const PERPLEXITY_USD = 0.005;
const TAVILY_USD = 0.008;
const EXA_UP_TO_25_USD = 0.005;
const EXA_26_TO_100_USD = 0.025;
const BRAVE_USD = 0.005;
const EXA_CHEAP_USD = 0.0015;
const nano = (usd: number): number => Math.round(usd * 1e9);

let gw: TestGateway;
let fake: SearchFake;

beforeAll(async () => {
  fake = await startSearchFake();
  gw = await startGateway(
    `
general_settings: { master_key: ${MASTER_KEY} }
router_settings: { num_retries: 1 }
search_tools:
  - search_tool_name: pplx
    litellm_params: { search_provider: perplexity, api_key: os.environ/PPLX_KEY, api_base: ${fake.bases.perplexity} }
  - search_tool_name: tavily-web
    litellm_params: { search_provider: tavily, api_key: os.environ/TAVILY_KEY, api_base: ${fake.bases.tavily} }
    search_tool_info: { description: Tavily web search }
  - search_tool_name: exa
    litellm_params: { search_provider: exa_ai, api_key: os.environ/EXA_KEY, api_base: ${fake.bases.exa} }
  - search_tool_name: exa-cheap
    litellm_params: { search_provider: exa_ai, api_key: os.environ/EXA_KEY, api_base: ${fake.bases.exa}, input_cost_per_query: ${EXA_CHEAP_USD} }
  - search_tool_name: brave
    litellm_params: { search_provider: brave, api_key: os.environ/BRAVE_KEY, api_base: ${fake.bases.brave} }
  - search_tool_name: tavily-nokey
    litellm_params: { search_provider: tavily, api_base: ${fake.bases.tavily} }
`,
    { PPLX_KEY: SEARCH_FAKE_KEYS.perplexity, TAVILY_KEY: SEARCH_FAKE_KEYS.tavily, EXA_KEY: SEARCH_FAKE_KEYS.exa, BRAVE_KEY: SEARCH_FAKE_KEYS.brave },
  );
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

interface Answer {
  status: number;
  body: JsonObject;
  headers: Headers;
  callId: string;
}

async function search(path: string, body: unknown, key = MASTER_KEY): Promise<Answer> {
  const callId = newCallId();
  const res = await postJson(gw.url, path, body, { 'x-litellm-call-id': callId, authorization: `Bearer ${key}` });
  return { status: res.status, body: (await res.json()) as JsonObject, headers: res.headers, callId };
}

/** The upstream request the last call made (the fake records every request). */
const lastUpstream = (): (typeof fake.requests)[number] => fake.requests[fake.requests.length - 1]!;

async function spendRow(requestId: string): Promise<JsonObject> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const res = await fetch(`${gw.url}/spend/logs?request_id=${encodeURIComponent(requestId)}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const rows = (await res.json()) as JsonObject[];
    if (rows.length > 0) return rows[0]!;
    if (Date.now() > deadline) throw new Error(`no spend row for ${requestId}`);
    await sleep(20);
  }
}

/** What every successful search must show: the price in the header, the record and the spend log. */
async function expectMetered(answer: Answer, tool: string, provider: string, usd: number, apiBase: string): Promise<void> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(Number(answer.headers.get('x-litellm-response-cost'))).toBe(nano(usd) / 1e9);
  const record = await recordFor(gw.gateway, answer.callId);
  expect(record).toMatchObject({ surface: 'search', outcome: 'success', httpStatus: 200, requestedModel: tool, modelGroup: tool, upstreamModel: `${provider}/search`, costNanoUsd: nano(usd), passthrough: false });
  expect(record.deployment).toMatchObject({ provider, model: 'search', modelGroup: tool, apiBase });
  expect(record.attempts).toHaveLength(1);
  const row = await spendRow(answer.callId);
  expect(row).toMatchObject({ call_type: 'asearch', spend: usd, model: `${provider}/search`, model_group: tool, custom_llm_provider: provider, api_base: apiBase, prompt_tokens: 0, completion_tokens: 0, status: 'success' });
}

describe('search tools on each provider', () => {
  it('Perplexity gets the unified request as it is; its answer is already LiteLLM’s shape', async () => {
    const before = fake.requests.length;
    const answer = await search('/v1/search/pplx', { query: 'quantum error correction', max_results: 3, search_domain_filter: ['arxiv.org'], country: 'US', max_tokens_per_page: 512 });
    expect(fake.requests.length).toBe(before + 1);
    const sent = lastUpstream();
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/perplexity/search');
    expect(sent.headers.authorization).toBe(`Bearer ${SEARCH_FAKE_KEYS.perplexity}`);
    expect(sent.json).toEqual({ query: 'quantum error correction', max_results: 3, search_domain_filter: ['arxiv.org'], max_tokens_per_page: 512, country: 'US' });
    expect(answer.body).toEqual({
      object: 'search',
      results: [0, 1, 2].map((i) => {
        const hit = searchHit('perplexity', 'quantum error correction', i);
        return { title: hit.title, url: hit.url, snippet: hit.text, date: hit.day, last_updated: i % 2 === 0 ? hit.day : null };
      }),
    });
    await expectMetered(answer, 'pplx', 'perplexity', PERPLEXITY_USD, fake.bases.perplexity);
  });

  it('Tavily: a list query joined, domains as include_domains, country lower-cased, its own fields passed, content as the snippet', async () => {
    const answer = await search('/search/tavily-web', { query: ['latest', 'ai news'], max_results: 4, search_domain_filter: ['a.com'], country: 'United States', search_depth: 'advanced', max_tokens_per_page: 100 });
    const sent = lastUpstream();
    expect(sent.path).toBe('/tavily/search');
    expect(sent.headers.authorization).toBe(`Bearer ${SEARCH_FAKE_KEYS.tavily}`);
    expect(sent.json).toEqual({ query: 'latest ai news', max_results: 4, include_domains: ['a.com'], country: 'united states', search_depth: 'advanced' });
    const raw = fake.answers[fake.answers.length - 1]!.body.results as JsonObject[];
    expect(raw).toHaveLength(4);
    expect(answer.body).toEqual({ object: 'search', results: raw.map((r) => ({ title: r.title, url: r.url, snippet: r.content, date: null, last_updated: null })) });
    await expectMetered(answer, 'tavily-web', 'tavily', TAVILY_USD, fake.bases.tavily);
  });

  it('Exa: the tool named in the body, numResults/userLocation, text requested; past 25 results the dearer tier', async () => {
    const answer = await search('/v1/search', { search_tool_name: 'exa', query: 'rust async runtimes', max_results: 30, country: 'DE', type: 'neural' });
    const sent = lastUpstream();
    expect(sent.path).toBe('/exa/search');
    expect(sent.headers['x-api-key']).toBe(SEARCH_FAKE_KEYS.exa);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.json).toEqual({ query: 'rust async runtimes', numResults: 30, userLocation: 'DE', type: 'neural', contents: { text: true } });
    const results = answer.body.results as JsonObject[];
    expect(results).toHaveLength(30);
    results.forEach((r, i) => {
      const hit = searchHit('exa', 'rust async runtimes', i);
      // Exa's null titles become empty strings; publishedDate is the date.
      expect(r).toEqual({ title: i % 3 === 2 ? '' : hit.title, url: hit.url, snippet: hit.text, date: `${hit.day}T00:00:00.000Z`, last_updated: null });
    });
    await expectMetered(answer, 'exa', 'exa_ai', EXA_26_TO_100_USD, fake.bases.exa);
  });

  it('Exa: 25 results or fewer (or none asked: LiteLLM assumes 10) is the cheaper tier; input_cost_per_query overrides the price', async () => {
    const few = await search('/v1/search/exa', { query: 'small query', max_results: 25 });
    await expectMetered(few, 'exa', 'exa_ai', EXA_UP_TO_25_USD, fake.bases.exa);
    const unset = await search('/v1/search/exa', { query: 'default count' });
    expect(lastUpstream().json).toEqual({ query: 'default count', contents: { text: true } });
    await expectMetered(unset, 'exa', 'exa_ai', EXA_UP_TO_25_USD, fake.bases.exa);
    const cheap = await search('/v1/search/exa-cheap', { query: 'cheap', max_results: 50, contents: { text: false } });
    expect(lastUpstream().json).toEqual({ query: 'cheap', numResults: 50, contents: { text: false } });
    expect((cheap.body.results as JsonObject[]).every((r) => r.snippet === '')).toBe(true);
    await expectMetered(cheap, 'exa-cheap', 'exa_ai', EXA_CHEAP_USD, fake.bases.exa);
  });

  it('Brave: a GET with everything in the query string, domains as site: clauses, gzip decoded, dates reduced to days', async () => {
    const answer = await search('/v1/search/brave', {
      query: 'brave browser', max_results: 3, search_domain_filter: ['brave.com', 'github.com'], country: 'US', max_tokens_per_page: 10,
      start_date: '2024-01-01', end_date: '2024-02-01', safesearch: 'strict',
    });
    const sent = lastUpstream();
    expect(sent.method).toBe('GET');
    // Python's urlencode of LiteLLM's dict, worked out by hand: spaces as +, ( ) : as %XX, True as Python writes it.
    expect(sent.path).toBe('/brave/res/v1/web/search?q=%28brave+browser%29+AND+%28site%3Abrave.com+OR+site%3Agithub.com%29&include_fetch_metadata=True&count=3&freshness=2024-01-01to2024-02-01&country=US&safesearch=strict');
    expect(sent.headers['x-subscription-token']).toBe(SEARCH_FAKE_KEYS.brave);
    expect(sent.headers.accept).toBe('application/json');
    expect(sent.headers['accept-encoding']).toBe('gzip');
    expect(sent.body).toBe('');
    const q = '(brave browser) AND (site:brave.com OR site:github.com)';
    // The fake answers 3 web results and 2 news (news ignore count): LiteLLM keeps 3 in all.
    expect(answer.body).toEqual({
      object: 'search',
      results: [0, 1, 2].map((i) => {
        const hit = searchHit('brave', q, i);
        return { title: hit.title, url: hit.url, snippet: hit.text, date: hit.day, last_updated: `2025-01-0${2 + i}` };
      }),
    });
    await expectMetered(answer, 'brave', 'brave', BRAVE_USD, fake.bases.brave);
  });

  it('Brave: result_filter picks the sections; without include_fetch_metadata there is no last_updated', async () => {
    const answer = await search('/v1/search/brave', { query: 'launch', result_filter: 'news', include_fetch_metadata: false });
    expect(lastUpstream().path).toBe('/brave/res/v1/web/search?q=launch&include_fetch_metadata=False&result_filter=news');
    expect(answer.body).toEqual({
      object: 'search',
      results: [0, 1].map((i) => {
        const hit = searchHit('brave', 'launch news', i);
        return { title: hit.title, url: hit.url, snippet: hit.text, date: '2024-02-03', last_updated: null };
      }),
    });
    await expectMetered(answer, 'brave', 'brave', BRAVE_USD, fake.bases.brave);
  });

  it('GET /v1/search/tools lists every configured tool (LiteLLM’s shape); a bad key is a 401', async () => {
    const res = await fetch(`${gw.url}/v1/search/tools`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      object: 'list',
      data: [
        { search_tool_name: 'pplx', search_provider: 'perplexity' },
        { search_tool_name: 'tavily-web', search_provider: 'tavily', description: 'Tavily web search' },
        { search_tool_name: 'exa', search_provider: 'exa_ai' },
        { search_tool_name: 'exa-cheap', search_provider: 'exa_ai' },
        { search_tool_name: 'brave', search_provider: 'brave' },
        { search_tool_name: 'tavily-nokey', search_provider: 'tavily' },
      ],
    });
    const bad = await fetch(`${gw.url}/search/tools`, { headers: { authorization: 'Bearer sk-wrong' } });
    expect(bad.status).toBe(401);
  });
});

describe('config', () => {
  it('search_tools is validated naming the entry and key; it is not an ignored key; unknown params are', () => {
    const bad = (yaml: string): string => {
      try {
        parseConfigText(yaml, 'c.yaml', { K: 'x' });
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(bad('search_tools:\n  - search_tool_name: s\n    litellm_params: { search_provider: google_pse }')).toMatch(/^c\.yaml: search_tools\[0\]\.litellm_params\.search_provider: unknown search_provider "google_pse"/);
    expect(bad('search_tools:\n  - search_tool_name: s\n    litellm_params: { search_provider: tavily, api_base: not-a-url }')).toMatch(/^c\.yaml: search_tools\[0\]\.litellm_params\.api_base: /);
    expect(bad('search_tools:\n  - litellm_params: { search_provider: tavily }')).toMatch(/^c\.yaml: search_tools\[0\]\.search_tool_name: /);
    expect(bad('search_tools:\n  - search_tool_name: s\n    litellm_params: { search_provider: tavily, api_key: os.environ/MISSING }')).toMatch(/^c\.yaml: search_tools\[0\]\.litellm_params\.api_key: environment variable MISSING is not set/);
    const ok = parseConfigText('search_tools:\n  - search_tool_name: s\n    litellm_params: { search_provider: tavily, api_key: os.environ/K, search_depth: advanced }', 'c.yaml', { K: 'x' });
    expect(ok.unimplemented).toEqual(['search_tools[].litellm_params.search_depth']);
  });

  it("the provider's environment variables stand in for api_key and api_base, but an env key never goes to another api_base", () => {
    const tools = (yaml: string, env: NodeJS.ProcessEnv) => buildSearchTools(parseConfigText(yaml, 'c.yaml', env).config.search_tools, {}, env);
    const env = { TAVILY_API_KEY: 'tvly-env', EXA_API_BASE: 'http://exa.internal' };
    const [tavily, exa, elsewhere] = tools(
      'search_tools:\n  - { search_tool_name: t, litellm_params: { search_provider: tavily } }\n  - { search_tool_name: e, litellm_params: { search_provider: exa_ai, api_key: k } }\n  - { search_tool_name: o, litellm_params: { search_provider: tavily, api_base: "http://other.example" } }',
      env,
    );
    expect(tavily!.deployment).toMatchObject({ apiKey: 'tvly-env', apiBase: undefined, defaultApiBase: 'https://api.tavily.com', timeoutMs: 600_000 });
    expect(exa!.deployment).toMatchObject({ apiKey: 'k', apiBase: 'http://exa.internal' });
    expect(elsewhere!.deployment.apiKey).toBeUndefined();
  });
});

describe('entries sharing a name', () => {
  it('each attempt picks one at random; a retry may land on another; a key the upstream quotes is scrubbed', async () => {
    const [a, b] = buildSearchTools(
      parseConfigText('search_tools:\n  - { search_tool_name: s, litellm_params: { search_provider: tavily, api_key: tvly-secret-aaaa } }\n  - { search_tool_name: s, litellm_params: { search_provider: exa_ai, api_key: exa-secret-bbbb } }', 'c.yaml', {}).config.search_tools,
    );
    const picks = [0.9, 0.1]; // first attempt: the second entry; the retry: the first
    const ran: string[] = [];
    const router = new SearchRouter([a!, b!], {
      numRetries: 1,
      random: () => picks.shift() ?? 0,
      run: (tool) => {
        ran.push(tool.provider);
        if (tool.provider === 'exa_ai') return Promise.reject(errors.upstream(503, { message: 'overloaded, key exa-secret-bbbb', upstream: { status: 503, provider: 'exa_ai' } }));
        return Promise.resolve({ object: 'search', results: [] });
      },
    });
    const log = { attempts: [] as CallRecord['attempts'], retries: 0, fallbacks: 0 };
    const served: string[] = [];
    const signal = new AbortController().signal;
    await expect(router.search({ name: 's', request: { query: 'q', params: {} }, signal, log, onAttempt: (t) => served.push(t.id) })).resolves.toEqual({ object: 'search', results: [] });
    expect(ran).toEqual(['exa_ai', 'tavily']);
    expect(served).toEqual([b!.id, a!.id]);
    expect(log.retries).toBe(1);
    expect(log.attempts.map((x) => x.outcome)).toEqual(['failure', 'success']);
    expect(log.attempts[0]!.errorMessage).toBe('overloaded, key [redacted]');
  });
});

describe('refusals', () => {
  it('a bad body is a 400 in the OpenAI envelope naming the field, and nothing goes upstream', async () => {
    const before = fake.requests.length;
    const cases: [unknown, string][] = [
      [{}, 'query'],
      [{ query: '' }, 'query'],
      [{ query: 5 }, 'query'],
      [{ query: [] }, 'query'],
      [{ query: ['a', 3] }, 'query[1]'],
      [{ query: 'x', max_results: 0 }, 'max_results'],
      [{ query: 'x', max_results: 2.5 }, 'max_results'],
      [{ query: 'x', search_domain_filter: 'a.com' }, 'search_domain_filter'],
      [{ query: 'x', search_domain_filter: ['a.com', 7] }, 'search_domain_filter[1]'],
      [{ query: 'x', country: 1 }, 'country'],
      [{ query: 'x', max_tokens_per_page: -1 }, 'max_tokens_per_page'],
    ];
    for (const [body, param] of cases) {
      const answer = await search('/v1/search/tavily-web', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error, JSON.stringify(body)).toMatchObject({ param, code: '400' });
    }
    const unnamed = await search('/v1/search', { query: 'x' });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error).toMatchObject({ param: 'search_tool_name' });
    // Endpoints and keys come from the config only.
    const redirected = await search('/v1/search/tavily-web', { query: 'x', api_base: 'http://127.0.0.1:1' });
    expect(redirected.status).toBe(401);
    expect(fake.requests.length).toBe(before);
  });

  it('a tool without a key (in the entry or TAVILY_API_KEY) is a 500 saying so, and nothing goes upstream', async () => {
    const before = fake.requests.length;
    const answer = await search('/v1/search/tavily-nokey', { query: 'x' });
    expect(answer.status).toBe(500);
    expect(String((answer.body.error as JsonObject).message)).toContain('TAVILY_API_KEY is not set');
    expect(fake.requests.length).toBe(before);
  });

  it('an unknown tool is a 404 naming search_tool_name, recorded as a failed call', async () => {
    const answer = await search('/v1/search/no-such-tool', { query: 'x' });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ param: 'search_tool_name', code: '404' });
    expect(String((answer.body.error as JsonObject).message)).toContain('pplx');
    const record = await recordFor(gw.gateway, answer.callId);
    expect(record).toMatchObject({ surface: 'search', outcome: 'failure', httpStatus: 404, requestedModel: 'no-such-tool', costNanoUsd: null });
  });

  it("a retryable upstream error is tried again (router_settings.num_retries); the last one keeps its status and the provider's message", async () => {
    fake.script([{ status: 429 }, 'ok']);
    const recovered = await search('/v1/search/exa', { query: 'busy once' });
    expect(recovered.status).toBe(200);
    const first = await recordFor(gw.gateway, recovered.callId);
    expect(first).toMatchObject({ outcome: 'success', retries: 1, costNanoUsd: nano(EXA_UP_TO_25_USD) });
    expect(first.attempts.map((a) => [a.outcome, a.status])).toEqual([['failure', 429], ['success', undefined]]);

    fake.script([{ status: 503 }, { status: 503 }]);
    const failed = await search('/v1/search/exa', { query: 'busy twice' });
    expect(failed.status).toBe(503);
    expect(String((failed.body.error as JsonObject).message)).toContain('fake exa error 503');
    const record = await recordFor(gw.gateway, failed.callId);
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 503, retries: 1 });
    expect(record.attempts).toHaveLength(2);

    // A 400 is the request's fault: not retried.
    const before = fake.requests.length;
    fake.script([{ status: 400 }]);
    const bad = await search('/v1/search/exa', { query: 'bad once' });
    expect(bad.status).toBe(400);
    expect(fake.requests.length).toBe(before + 1);
  });

  it("a key limited by object_permission.search_tools gets a 403 for other tools; its model list does not apply", async () => {
    const { key } = (await adminPost(gw.url, MASTER_KEY, '/key/generate', { key_alias: 'search-only-tavily', models: ['gpt-4o'], object_permission: { search_tools: ['tavily-web'] } })) as { key: string };
    const before = fake.requests.length;
    const denied = await search('/v1/search/pplx', { query: 'x' }, key);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ param: 'search_tool_name', type: 'key_model_access_denied', code: '403' });
    expect(fake.requests.length).toBe(before);
    const allowed = await search('/v1/search/tavily-web', { query: 'allowed', max_results: 1 }, key);
    expect(allowed.status).toBe(200);
    const record = await recordFor(gw.gateway, allowed.callId);
    expect(record.principal).toMatchObject({ keyAlias: 'search-only-tavily' });
    // A key without any search_tools list may use every tool.
    const { key: open } = (await adminPost(gw.url, MASTER_KEY, '/key/generate', { key_alias: 'search-any' })) as { key: string };
    expect((await search('/v1/search/pplx', { query: 'x', max_results: 1 }, open)).status).toBe(200);
  });

  it('queries spend the key budget: once spend reaches max_budget the next query is refused before going upstream', async () => {
    // Two Tavily queries (0.008 each) reach a 0.01 budget; the third is refused.
    const { key } = (await adminPost(gw.url, MASTER_KEY, '/key/generate', { key_alias: 'search-budget', max_budget: 0.01 })) as { key: string };
    for (let i = 0; i < 2; i++) {
      const ok = await search('/v1/search/tavily-web', { query: `budget ${i}`, max_results: 1 }, key);
      expect(ok.status).toBe(200);
      await recordFor(gw.gateway, ok.callId);
    }
    await sleep(50);
    const before = fake.requests.length;
    const refused = await search('/v1/search/tavily-web', { query: 'over budget', max_results: 1 }, key);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'budget_exceeded' });
    expect(fake.requests.length).toBe(before);
    const info = await fetch(`${gw.url}/key/info?key=${encodeURIComponent(key)}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const spend = ((await info.json()) as { info: { spend: number } }).info.spend;
    expect(spend).toBeCloseTo(2 * TAVILY_USD, 12);
  });
});
