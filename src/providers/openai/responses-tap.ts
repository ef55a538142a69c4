/**
 * Watches a Responses API stream passing through: the terminal event (`response.completed`, or
 * `response.incomplete` when the output limit cut the answer) carries the usage and ends the
 * answer; `error` and `response.failed` report a failure the client has already been told about.
 * Only events whose type says they can carry one of those are parsed — the deltas, which are
 * nearly all of a stream, go out as the upstream's own bytes. The terminal event is the one that
 * is re-serialised, to add the call's cost to its `response.usage`. The upstream's response id is
 * swapped for the managed one (core/response-id.ts) by a text edit of the few events that carry it.
 */
import { errors } from '../../core/errors.js';
import { asObject, asString, isObject, tryParseJson } from '../../core/json.js';
import type { SseEvent } from '../../core/sse.js';
import type { Usage } from '../../core/usage.js';
import type { EventInspector, InspectResult } from '../shared/stream-tap.js';
import type { StreamTap } from '../types.js';
import { parseResponsesUsage } from './responses-usage.js';

const TERMINAL = /"type"\s*:\s*"(response\.completed|response\.incomplete|response\.failed|error)"/;
const RATE_CODES = new Set(['rate_limit_exceeded', 'insufficient_quota']);
const CREATED = /"type"\s*:\s*"response\.created"/;
const PREAMBLE = /^event:\s*response\.(created|in_progress)\b|"type"\s*:\s*"response\.(created|in_progress)"/;

export class ResponsesTapInspector implements EventInspector {
  private upstreamId: string | undefined;
  private managedId: string | undefined;

  constructor(
    private readonly annotate?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined,
    private readonly manageId?: ((upstreamId: string) => string) | undefined,
  ) {}

  /** response.created / in_progress open every stream; an error after them is still an error before the answer. */
  isPreamble(raw: string): boolean {
    return PREAMBLE.test(raw);
  }

  wants(raw: string): boolean {
    return TERMINAL.test(raw) || (this.upstreamId === undefined && this.manageId !== undefined && CREATED.test(raw));
  }

  edit(raw: string): string {
    return this.upstreamId === undefined || this.managedId === undefined || !raw.includes(this.upstreamId) ? raw : raw.replaceAll(this.upstreamId, this.managedId);
  }

  inspect(event: SseEvent, raw: string, tap: StreamTap): InspectResult {
    const data = tryParseJson(event.data);
    if (!isObject(data)) return undefined;
    const type = asString(data.type) ?? event.event;
    const response = asObject(data.response);
    if (typeof response?.model === 'string') tap.model = response.model;
    if (this.upstreamId === undefined && typeof response?.id === 'string' && this.manageId !== undefined) {
      this.upstreamId = response.id;
      this.managedId = this.manageId(response.id);
    }
    if (type === 'response.created') return this.edited(raw);
    if (type === 'error') {
      const error = asObject(data.error) ?? data;
      const message = asString(error.message) ?? 'Upstream stream error';
      // A quota or rate error is a 429 (retried elsewhere, and so told to the client) wherever it comes.
      tap.error = RATE_CODES.has(asString(error.code) ?? '') ? errors.rateLimited(message) : errors.streamError(message);
      return undefined;
    }
    if (type === 'response.failed') {
      tap.error ??= errors.streamError(asString(asObject(response?.error)?.message) ?? 'The upstream response failed');
      if (isObject(response?.usage)) tap.usage = parseResponsesUsage(response.usage);
      return this.edited(raw);
    }
    if (response === undefined) return undefined;
    tap.usage = parseResponsesUsage(response.usage);
    tap.completed = true;
    const extra = isObject(response.usage) ? this.annotate?.(tap.usage) : undefined;
    if (extra === undefined || !isObject(response.usage)) return this.edited(raw);
    const annotated = { ...data, response: { ...response, usage: { ...response.usage, ...extra } } };
    return this.edit(`event: ${type}\ndata: ${JSON.stringify(annotated)}\n\n`);
  }

  /** The event with the managed id, or undefined (forward as it is) when nothing changes. */
  private edited(raw: string): InspectResult {
    const edited = this.edit(raw);
    return edited === raw ? undefined : edited;
  }
}
