/**
 * Search tools by name, and the call of one (LiteLLM's litellm/router_utils/search_api_router.py):
 * entries that share a `search_tool_name` are picked from at random for each attempt, and a
 * retryable failure is tried again up to `router_settings.num_retries` times, as LiteLLM's router
 * retries its search calls. Every attempt is logged on the call, and an upstream error that quotes
 * the tool's key has it scrubbed before anyone sees it.
 */
import { deploymentSecrets } from '../core/deployment.js';
import { errors, redactSecrets, toGatewayError } from '../core/errors.js';
import type { SearchRequest, SearchResponse, SearchTool } from '../core/search.js';
import { runSearch, type SearchFunction } from '../providers/search/index.js';
import { AttemptSignal, attemptTimeout, failedAttempt, withDeadline, type AttemptLog, type ClientSignal } from './attempts.js';

/** One entry of `GET /v1/search/tools` (LiteLLM's list_search_tools). */
export interface SearchToolListing {
  search_tool_name: string;
  search_provider: string;
  description?: string;
}

export interface SearchCall {
  name: string;
  request: SearchRequest;
  /** The client's side: its going away aborts the attempt in flight. */
  signal: ClientSignal;
  log: AttemptLog;
  /** Before each attempt, with the entry that serves it (the record's upstream and price follow it). */
  onAttempt: (tool: SearchTool) => void;
}

export interface SearchRouterOptions {
  numRetries?: number | undefined;
  random?: (() => number) | undefined;
  now?: (() => number) | undefined;
  /** The provider call (tests replace it). */
  run?: SearchFunction | undefined;
}

export class SearchRouter {
  private readonly byName = new Map<string, SearchTool[]>();
  private readonly numRetries: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly run: SearchFunction;

  constructor(
    private readonly tools: readonly SearchTool[],
    options: SearchRouterOptions = {},
  ) {
    for (const tool of tools) this.byName.set(tool.name, [...(this.byName.get(tool.name) ?? []), tool]);
    this.numRetries = Math.max(0, options.numRetries ?? 0);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.run = options.run ?? runSearch;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The entries that serve `name` (empty when there are none). */
  entries(name: string): readonly SearchTool[] {
    return this.byName.get(name) ?? [];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Every entry, in config order (LiteLLM lists each entry, duplicates of a name included). */
  list(): SearchToolListing[] {
    return this.tools.map((t) => ({ search_tool_name: t.name, search_provider: t.provider, ...(t.description === undefined ? {} : { description: t.description }) }));
  }

  async search(call: SearchCall): Promise<SearchResponse> {
    const candidates = this.byName.get(call.name);
    if (candidates === undefined || candidates.length === 0) throw errors.notFound(`Search tool '${call.name}' not found`, 'search_tool_name');
    for (let attempt = 0; ; attempt++) {
      const tool = candidates[Math.min(candidates.length - 1, Math.floor(this.random() * candidates.length))] as SearchTool;
      call.onAttempt(tool);
      const startedAt = this.now();
      const t0 = performance.now();
      // The attempt's own controller: the client going away or the tool's timeout tears it down.
      const signal = new AttemptSignal(call.signal);
      const d = tool.deployment;
      try {
        const response = await withDeadline(this.run(tool, call.request, signal.signal), d.timeoutMs, signal, () => attemptTimeout(d, false));
        signal.release(false);
        call.log.attempts.push({ deploymentId: tool.id, startedAt, durationMs: performance.now() - t0, outcome: 'success' });
        return response;
      } catch (err) {
        signal.release(true);
        const error = call.signal.aborted ? errors.clientDisconnected(err) : redactSecrets(toGatewayError(err), deploymentSecrets(d));
        call.log.attempts.push(failedAttempt(tool.id, startedAt, performance.now() - t0, error));
        if (!error.retryable || attempt >= this.numRetries || call.signal.aborted) throw error;
        call.log.retries++;
      }
    }
  }
}
