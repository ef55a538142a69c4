// Fake web-search APIs of four providers on one loopback server, each on its real wire (from the
// providers' API references and LiteLLM's transformations):
//  - Perplexity  POST /perplexity/search              Authorization: Bearer <key>   {query, max_results 1-20, search_domain_filter ≤20, max_tokens_per_page, country}
//                → {id, results:[{title, url, snippet, date, last_updated}]}
//  - Tavily      POST /tavily/search                  Authorization: Bearer <key>   {query, max_results 0-20, include_domains, country (lower-case name), search_depth, topic, …}
//                → {query, answer, images, results:[{title, url, content, score, raw_content}], response_time, request_id}
//  - Exa         POST /exa/search                     x-api-key: <key>             {query, numResults ≤100, includeDomains, userLocation, type, contents:{text}}
//                → {requestId, resolvedSearchType, results:[{id, title, url, publishedDate, author, text?}], costDollars}
//  - Brave       GET  /brave/res/v1/web/search?q=…    X-Subscription-Token: <key>  count 1-20, country, freshness, result_filter, include_fetch_metadata
//                → {type:"search", query:{original}, web:{results:[{title, url, description, page_age, age, fetched_content_timestamp?}]}, news:{results}}
//                   gzip-compressed when the request accepts gzip (as Brave's CDN does).
// Errors are each provider's own envelope: Perplexity OpenAI-style {"error":{message,type,code}},
// Tavily FastAPI {"detail":{"error"}}, Exa {"requestId","error","tag"}, Brave {"type":"ErrorResponse","error":{…}}.
// Results are deterministic (searchHit), so tests can compute what each provider returns; every
// answer sent is kept in `answers` for field-by-field checks of the mapping.
// script() steps (FakeStep: 'ok', a StatusStep, 'reset', 'delay') apply to the next request that passed auth and validation.
import { gzipSync } from 'node:zlib';
import type { Exchange, FakeStep, RecordedRequest } from './common.js';
import { header, isRecord, runStep, sendJson, serve, StepQueue } from './common.js';

export type SearchFakeProvider = 'perplexity' | 'tavily' | 'exa' | 'brave';

export const SEARCH_FAKE_KEYS: Readonly<Record<SearchFakeProvider, string>> = {
  perplexity: 'pplx-fake-search-key-0001',
  tavily: 'tvly-fake-search-key-0001',
  exa: 'exa-fake-search-key-0001',
  brave: 'BSA-fake-search-key-0001',
};

/** Result `i` (0-based) of `query` at a provider: what every field of its answer is made from. */
export function searchHit(provider: SearchFakeProvider, query: string, i: number): { title: string; url: string; text: string; day: string } {
  const slug = query.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const day = `2024-0${(i % 9) + 1}-1${i % 10}`;
  return { title: `${provider} ${i + 1}: ${query}`, url: `https://${provider}.example/${slug}/${i + 1}`, text: `${provider} snippet ${i + 1} about ${query}`, day };
}

export interface SearchFake {
  url: string;
  /** Base URLs to configure as each tool's `api_base`. */
  bases: Readonly<Record<SearchFakeProvider, string>>;
  requests: RecordedRequest[];
  /** The JSON bodies sent back, in order (successful answers only). */
  answers: { provider: SearchFakeProvider; body: Record<string, unknown> }[];
  script: (steps: FakeStep[]) => void;
  close: () => Promise<void>;
}

type Json = Record<string, unknown>;

class BadRequest extends Error {}

const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const strings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');

function errorBody(provider: SearchFakeProvider, status: number, message: string): Json {
  switch (provider) {
    case 'perplexity':
      return { error: { message, type: status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : 'invalid_request', code: status } };
    case 'tavily':
      return { detail: { error: message } };
    case 'exa':
      return { requestId: 'req-fake-error', error: message, tag: status === 401 ? 'INVALID_API_KEY' : status === 429 ? 'RATE_LIMITED' : 'INVALID_REQUEST_BODY' };
    case 'brave':
      return { type: 'ErrorResponse', error: { id: 'err-fake', status, code: status === 401 ? 'SUBSCRIPTION_TOKEN_INVALID' : status === 429 ? 'RATE_LIMITED' : 'VALIDATION', detail: message, meta: {} }, time: 1700000000 };
  }
}

function perplexity(body: Json): Json {
  const { query } = body;
  const queries = typeof query === 'string' ? [query] : strings(query) && (query as string[]).length > 0 && (query as string[]).length <= 5 ? (query as string[]) : undefined;
  if (queries === undefined) throw new BadRequest('query must be a string or a list of 1-5 strings');
  if (body.max_results !== undefined && !isInt(body.max_results, 1, 20)) throw new BadRequest('max_results must be between 1 and 20');
  if (body.search_domain_filter !== undefined && !(strings(body.search_domain_filter) && (body.search_domain_filter as string[]).length <= 20)) throw new BadRequest('search_domain_filter must be a list of at most 20 domains');
  if (body.max_tokens_per_page !== undefined && !isInt(body.max_tokens_per_page, 1, 1_000_000)) throw new BadRequest('max_tokens_per_page must be a positive integer');
  for (const name of Object.keys(body)) {
    if (!['query', 'max_results', 'search_domain_filter', 'max_tokens_per_page', 'country', 'search_recency_filter', 'last_updated_after_filter'].includes(name)) throw new BadRequest(`unknown field ${name}`);
  }
  const n = typeof body.max_results === 'number' ? body.max_results : 10;
  const results = queries.flatMap((q) =>
    Array.from({ length: n }, (_, i) => {
      const hit = searchHit('perplexity', q, i);
      return { title: hit.title, url: hit.url, snippet: hit.text, date: hit.day, last_updated: i % 2 === 0 ? hit.day : null };
    }),
  );
  return { id: 'pplx-search-fake-1', results };
}

function tavily(body: Json): Json {
  if (typeof body.query !== 'string' || body.query === '') throw new BadRequest('query must be a non-empty string');
  if (body.max_results !== undefined && !isInt(body.max_results, 0, 20)) throw new BadRequest('max_results must be between 0 and 20');
  if (body.search_depth !== undefined && body.search_depth !== 'basic' && body.search_depth !== 'advanced') throw new BadRequest('search_depth must be basic or advanced');
  if (body.include_domains !== undefined && !strings(body.include_domains)) throw new BadRequest('include_domains must be a list');
  if (typeof body.country === 'string' && body.country !== body.country.toLowerCase()) throw new BadRequest('country must be a lower-case country name');
  const n = typeof body.max_results === 'number' ? body.max_results : 5;
  const query = body.query;
  const results = Array.from({ length: n }, (_, i) => {
    const hit = searchHit('tavily', query, i);
    return { title: hit.title, url: hit.url, content: hit.text, score: 0.9 - i / 100, raw_content: null };
  });
  return { query, follow_up_questions: null, answer: null, images: [], results, response_time: 0.42, request_id: 'tvly-req-fake-1' };
}

function exa(body: Json): Json {
  if (typeof body.query !== 'string' || body.query === '') throw new BadRequest('query must be a non-empty string');
  if (body.numResults !== undefined && !isInt(body.numResults, 1, 100)) throw new BadRequest('numResults must be between 1 and 100');
  if (body.includeDomains !== undefined && !strings(body.includeDomains)) throw new BadRequest('includeDomains must be a list');
  if (body.type !== undefined && !(typeof body.type === 'string' && ['auto', 'neural', 'keyword', 'fast', 'deep'].includes(body.type))) throw new BadRequest('type is invalid');
  const n = typeof body.numResults === 'number' ? body.numResults : 10;
  const withText = isRecord(body.contents) && body.contents.text === true;
  const query = body.query;
  const results = Array.from({ length: n }, (_, i) => {
    const hit = searchHit('exa', query, i);
    // Exa leaves a title null when the page has none; every third page here.
    return { id: hit.url, title: i % 3 === 2 ? null : hit.title, url: hit.url, publishedDate: `${hit.day}T00:00:00.000Z`, author: null, ...(withText ? { text: hit.text } : {}) };
  });
  return { requestId: 'exa-req-fake-1', resolvedSearchType: 'neural', results, searchType: 'auto', costDollars: { total: n <= 25 ? 0.005 : 0.025 } };
}

function brave(params: URLSearchParams): Json {
  const q = params.get('q');
  if (q === null || q === '') throw new BadRequest('q is required');
  const count = params.get('count') === null ? 20 : Number(params.get('count'));
  if (!isInt(count, 1, 20)) throw new BadRequest('count must be between 1 and 20');
  const metadata = params.get('include_fetch_metadata');
  if (metadata !== null && !['true', 'false', 'True', 'False', '1', '0'].includes(metadata)) throw new BadRequest('include_fetch_metadata must be a boolean');
  const withFetch = metadata === 'true' || metadata === 'True' || metadata === '1';
  const web = Array.from({ length: count }, (_, i) => {
    const hit = searchHit('brave', q, i);
    return {
      type: 'search_result', title: hit.title, url: hit.url, description: hit.text, page_age: `${hit.day}T08:30:00`, age: 'March 1, 2024',
      ...(withFetch ? { fetched_content_timestamp: Date.UTC(2025, 0, 2 + i) / 1000 } : {}),
    };
  });
  // News ignore `count` (LiteLLM's reason to cap the total itself); no page_age, a human age only.
  const news = [0, 1].map((i) => {
    const hit = searchHit('brave', `${q} news`, i);
    return { type: 'news_result', title: hit.title, url: hit.url, description: hit.text, age: 'February 3, 2024' };
  });
  return { type: 'search', query: { original: q, more_results_available: true }, mixed: { type: 'mixed', main: [] }, web: { type: 'search', results: web }, news: { type: 'news', results: news } };
}

export async function startSearchFake(): Promise<SearchFake> {
  const requests: RecordedRequest[] = [];
  const answers: SearchFake['answers'] = [];
  const queue = new StepQueue();
  const json = { 'content-type': 'application/json' };

  const answer = async (ex: Exchange, provider: SearchFakeProvider, build: () => Json): Promise<void> => {
    let body: Json;
    try {
      body = build();
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      return sendJson(ex, provider === 'brave' ? 422 : 400, JSON.stringify(errorBody(provider, 400, err.message)), json);
    }
    const step = queue.next();
    if (step === 'ok') {
      answers.push({ provider, body });
      const text = JSON.stringify(body);
      if (provider === 'brave' && /\bgzip\b/.test(header(ex, 'accept-encoding') ?? '')) {
        const zipped = gzipSync(text);
        ex.res.writeHead(200, { ...json, 'content-encoding': 'gzip', 'content-length': String(zipped.length) });
        ex.res.end(zipped);
        return;
      }
      return sendJson(ex, 200, text, json);
    }
    return runStep(ex, step, {
      stream: false,
      ok: () => ({ kind: 'json', status: 200, text: JSON.stringify(body) }),
      tool: () => ({ kind: 'json', status: 200, text: JSON.stringify(body) }),
      errorBody: (status) => errorBody(provider, status, `fake ${provider} error ${status}`),
      overloadedInStream: () => ({ kind: 'json', status: 529, text: '{}' }),
      headers: () => json,
      eventDelayMs: 0,
    });
  };

  const server = await serve(requests, async (ex) => {
    const url = new URL(ex.record.path, 'http://fake');
    const bearer = header(ex, 'authorization');
    const post = ex.req.method === 'POST' && header(ex, 'content-type')?.startsWith('application/json') === true;
    const deny = (provider: SearchFakeProvider, message: string): void => sendJson(ex, 401, JSON.stringify(errorBody(provider, 401, message)), json);
    const body = isRecord(ex.record.json) ? ex.record.json : undefined;
    switch (url.pathname) {
      case '/perplexity/search':
        if (bearer !== `Bearer ${SEARCH_FAKE_KEYS.perplexity}`) return deny('perplexity', 'Invalid API key provided');
        if (!post || body === undefined) return sendJson(ex, 400, JSON.stringify(errorBody('perplexity', 400, 'expected a JSON body')), json);
        return answer(ex, 'perplexity', () => perplexity(body));
      case '/tavily/search':
        if (bearer !== `Bearer ${SEARCH_FAKE_KEYS.tavily}`) return deny('tavily', 'Unauthorized: missing or invalid API key.');
        if (!post || body === undefined) return sendJson(ex, 400, JSON.stringify(errorBody('tavily', 400, 'expected a JSON body')), json);
        return answer(ex, 'tavily', () => tavily(body));
      case '/exa/search':
        if (header(ex, 'x-api-key') !== SEARCH_FAKE_KEYS.exa) return deny('exa', 'Invalid API key');
        if (!post || body === undefined) return sendJson(ex, 400, JSON.stringify(errorBody('exa', 400, 'expected a JSON body')), json);
        return answer(ex, 'exa', () => exa(body));
      case '/brave/res/v1/web/search':
        if (ex.req.method !== 'GET') return sendJson(ex, 405, JSON.stringify(errorBody('brave', 405, 'use GET')), json);
        if (header(ex, 'x-subscription-token') !== SEARCH_FAKE_KEYS.brave) return deny('brave', 'The provided subscription token is invalid.');
        return answer(ex, 'brave', () => brave(url.searchParams));
      default:
        return sendJson(ex, 404, JSON.stringify({ error: `no route ${url.pathname}` }), json);
    }
  });
  return {
    url: server.url,
    bases: { perplexity: `${server.url}/perplexity`, tavily: `${server.url}/tavily`, exa: `${server.url}/exa`, brave: `${server.url}/brave/res/v1/web/search` },
    requests,
    answers,
    script: (steps) => queue.push(steps),
    close: server.close,
  };
}
