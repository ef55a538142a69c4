/**
 * Brave Search (`GET https://api.search.brave.com/res/v1/web/search?q=…`, `X-Subscription-Token`),
 * as LiteLLM maps it (litellm/llms/brave/search/transformation.py): everything goes in the query
 * string, encoded as Python's `urlencode(doseq=True)` writes it (booleans `True`/`False`, lists as
 * repeated keys, spaces as `+`); `include_fetch_metadata=True` unless the client turns it off (it
 * is what gives `last_updated`); `max_results` → `count` (at most 20); `search_domain_filter`
 * becomes `(q) AND (site:a OR site:b)`; `start_date` + `end_date` → `freshness=AtoB`;
 * `max_tokens_per_page` dropped; the rest passed through. Results come from every section (or
 * those `result_filter` names), at most `count` in all; `description` → `snippet`, dates reduced
 * to YYYY-MM-DD.
 */
import type { JsonObject } from '../../core/json.js';
import type { SearchRequest, SearchResponse, SearchResult, SearchTool } from '../../core/search.js';
import { asObject, isObject } from '../../core/json.js';
import { baseOf, exchange, keyOf, resultsOf, singleQuery, text } from './http.js';

const SECTIONS = ['web', 'discussions', 'faqs', 'faq', 'news', 'videos'] as const;
const MAX_COUNT = 20;

/** Python's `str()` of a JSON value, as urlencode applies it. */
function pythonStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** `urllib.parse.quote_plus`: only letters, digits and `_.-~` stay; spaces become `+`. */
function quotePlus(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `urlencode(params, doseq=True)`. */
export function pythonUrlencode(params: ReadonlyArray<readonly [string, unknown]>): string {
  const parts: string[] = [];
  for (const [name, value] of params) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const v of values) parts.push(`${quotePlus(name)}=${quotePlus(pythonStr(v))}`);
  }
  return parts.join('&');
}

/** The query parameters, in the order LiteLLM's dict holds them. */
export function braveParams(request: SearchRequest): [string, unknown][] {
  const remaining = new Map(Object.entries(request.params));
  const out = new Map<string, unknown>([['q', singleQuery(request.query)]]);
  const fetchMetadata = remaining.get('include_fetch_metadata');
  remaining.delete('include_fetch_metadata');
  out.set('include_fetch_metadata', fetchMetadata !== false);
  if (remaining.has('max_results')) {
    const max = remaining.get('max_results');
    remaining.delete('max_results');
    out.set('count', typeof max === 'number' ? Math.min(max, MAX_COUNT) : max);
  }
  if (remaining.has('search_domain_filter')) {
    const domains = remaining.get('search_domain_filter');
    remaining.delete('search_domain_filter');
    if (Array.isArray(domains) && domains.length > 0) out.set('q', `(${String(out.get('q'))}) AND (${domains.map((d) => `site:${String(d)}`).join(' OR ')})`);
  }
  const start = remaining.get('start_date');
  const end = remaining.get('end_date');
  remaining.delete('start_date');
  remaining.delete('end_date');
  if (isSet(start) && isSet(end)) out.set('freshness', `${pythonStr(start)}to${pythonStr(end)}`);
  if (remaining.has('country')) {
    out.set('country', remaining.get('country'));
    remaining.delete('country');
  }
  remaining.delete('max_tokens_per_page');
  for (const [name, value] of remaining) out.set(name, value);
  return [...out];
}

/** Python truthiness of a JSON value. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== '' && value !== 0;
}

const UNIX_TIMESTAMP = /^\s*-?\d+(\.\d+)?\s*$/;
const ISO_YMD = /^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$/;
const ISO_PREFIX = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)/;

const ymd = (y: number, m: number, d: number): string | null => {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
};

/**
 * LiteLLM's `to_yyyy_mm_dd`: a Unix timestamp (seconds, or milliseconds past 1e11) as its UTC day;
 * `YYYY-M-D` or an ISO date-time as the day it names; another date (`August 12, 2025`) as parsed;
 * anything else null. LiteLLM's fuzzy dateutil parse also makes days out of text such as
 * `3 days ago` (from the numbers in it); that is not a date Brave gave, so it stays null here.
 */
export function toYyyyMmDd(value: unknown): string | null {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return null;
  const s = pythonStr(value).trim();
  if (UNIX_TIMESTAMP.test(s)) {
    let seconds = Number(s);
    if (seconds > 1e11 || seconds < -1e11) seconds /= 1000;
    const date = new Date(seconds * 1000);
    return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
  }
  const plain = ISO_YMD.exec(s) ?? ISO_PREFIX.exec(s);
  if (plain !== null) return ymd(Number(plain[1]), Number(plain[2]), Number(plain[3]));
  if (!/[a-z]{3}/i.test(s) || /\bago\b/i.test(s)) return null;
  const parsed = new Date(s);
  if (Number.isNaN(parsed.getTime())) return null;
  return ymd(parsed.getFullYear(), parsed.getMonth() + 1, parsed.getDate());
}

/** The sections to read: those `result_filter` names, else all of them. */
function sectionsOf(params: ReadonlyMap<string, unknown>): readonly string[] {
  const filter = params.get('result_filter');
  const asked = typeof filter === 'string' ? filter.split(',').map((s) => s.trim().toLowerCase()) : [];
  const known = asked.filter((s) => (SECTIONS as readonly string[]).includes(s));
  return known.length > 0 ? known : SECTIONS;
}

/** Brave's sections → LiteLLM's results, at most `count` (news and videos ignore Brave's own count). */
export function braveResults(answer: JsonObject, sent: ReadonlyArray<readonly [string, unknown]>): SearchResult[] {
  const params = new Map(sent);
  const count = Number.parseInt(pythonStr(params.get('count') ?? MAX_COUNT), 10);
  const max = Math.max(1, Math.min(Number.isNaN(count) ? MAX_COUNT : count, MAX_COUNT));
  const results: SearchResult[] = [];
  for (const section of sectionsOf(params)) {
    for (const r of resultsOf(asObject(answer[section]))) {
      if (results.length >= max) break;
      const age = isSet(r.page_age) ? r.page_age : r.age;
      results.push({ title: text(r, 'title'), url: text(r, 'url'), snippet: text(r, 'description'), date: toYyyyMmDd(age), last_updated: toYyyyMmDd(r.fetched_content_timestamp) });
    }
  }
  return results;
}

export async function braveSearch(tool: SearchTool, request: SearchRequest, signal: AbortSignal): Promise<SearchResponse> {
  const key = keyOf(tool, 'BRAVE_API_KEY');
  const params = braveParams(request);
  const url = `${baseOf(tool)}?${pythonUrlencode(params)}`;
  const headers = { 'X-Subscription-Token': key, Accept: 'application/json', 'Accept-Encoding': 'gzip', 'Content-Type': 'application/json' };
  const answer = await exchange(tool, { url, method: 'GET', headers }, signal);
  return { object: 'search', results: isObject(answer) ? braveResults(answer, params) : [] };
}
