import { tryParseJson, isObject } from '../../core/json.js';
import { parseSseEvent } from '../../core/sse.js';
import type { Usage } from '../../core/usage.js';
import type { FrameHandler, FrameResult } from '../shared/tap-loop.js';
import type { StreamTap } from '../types.js';
import { anthropicStreamError } from './parse-response.js';
import { mergeAnthropicUsage, parseAnthropicUsage } from './usage.js';

/**
 * Watches an Anthropic stream: usage from message_start/message_delta, errors, message_stop. Events
 * are judged by their type alone; content deltas — nearly the whole stream — are never decoded.
 * `onEvent` serves every host of the wire (SSE here; Bedrock's event-stream chunks in
 * bedrock/invoke-stream.ts); `frame` is the SSE handler for the tap loop.
 */
export class AnthropicTapInspector implements FrameHandler {
  constructor(private readonly annotate?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined) {}

  /**
   * One event of type `type` whose JSON is `json()`, read only for the events that meter. Returns the
   * SSE text to send instead (the final usage with fields added), or undefined to leave it.
   */
  onEvent(type: string, json: () => string, tap: StreamTap): string | undefined {
    if (!tap.answerStarted && type !== 'message_start' && type !== 'ping') tap.answerStarted = true;
    return METERED.has(type) ? this.metered(type, json, tap) : undefined;
  }

  private metered(type: string, json: () => string, tap: StreamTap): string | undefined {
    switch (type) {
      case 'message_start': {
        const data = tryParseJson(json());
        const message = isObject(data) && isObject(data.message) ? data.message : {};
        tap.usage = parseAnthropicUsage(message.usage);
        if (typeof message.model === 'string') tap.model = message.model;
        return undefined;
      }
      case 'message_delta': {
        const data = tryParseJson(json());
        if (!isObject(data)) return undefined;
        tap.usage = mergeAnthropicUsage(tap.usage, data.usage);
        const extra = this.annotate?.(tap.usage);
        if (extra === undefined || !isObject(data.usage)) return undefined;
        return `event: message_delta\ndata: ${JSON.stringify({ ...data, usage: { ...data.usage, ...extra } })}\n\n`;
      }
      case 'message_stop':
        tap.completed = true;
        return undefined;
      case 'error': {
        const data = tryParseJson(json());
        if (isObject(data)) tap.error = anthropicStreamError(data);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  frame(buffer: Buffer, start: number, end: number, tap: StreamTap): FrameResult {
    const type = eventField(buffer, start, end);
    if (type !== undefined) {
      // The common case, a content delta, allocates nothing: no closure, no text.
      if (!METERED.has(type)) return this.onEvent(type, NO_JSON, tap);
      return this.onEvent(type, () => sseData(buffer.toString('utf8', start, end)), tap);
    }
    // No `event:` line (not Anthropic's own framing): the type is the data's.
    const text = buffer.toString('utf8', start, end);
    const event = parseSseEvent(text);
    if (event === undefined) return undefined;
    const data = tryParseJson(event.data);
    const dataType = isObject(data) && typeof data.type === 'string' ? data.type : 'message';
    return this.onEvent(event.event ?? dataType, () => event.data, tap);
  }

  rest(bytes: Buffer, tap: StreamTap): FrameResult {
    return bytes.toString('utf8').trim() === '' ? undefined : this.frame(bytes, 0, bytes.length, tap);
  }
}

/** The event types that carry usage, the end or an error: the only ones whose JSON is read. */
const METERED: ReadonlySet<string> = new Set(['message_start', 'message_delta', 'message_stop', 'error']);
const NO_JSON = (): string => '';
const EVENT = Buffer.from('event:');
/** Anthropic's event types, matched as bytes so that reading the type of an event allocates nothing. */
const KNOWN_TYPES = ['content_block_delta', 'content_block_start', 'content_block_stop', 'ping', ...METERED].map((name) => ({ name, bytes: Buffer.from(name) }));

/** The `event:` field when the event opens with it (Anthropic always does), read as bytes. */
function eventField(buffer: Buffer, start: number, end: number): string | undefined {
  if (end - start < EVENT.length || buffer.compare(EVENT, 0, EVENT.length, start, start + EVENT.length) !== 0) return undefined;
  let from = start + EVENT.length;
  if (buffer[from] === 0x20) from++;
  let to = from;
  while (to < end && buffer[to] !== 0x0a && buffer[to] !== 0x0d) to++;
  for (const known of KNOWN_TYPES) {
    if (known.bytes.length === to - from && buffer.compare(known.bytes, 0, known.bytes.length, from, to) === 0) return known.name;
  }
  return buffer.toString('utf8', from, to);
}

function sseData(text: string): string {
  return parseSseEvent(text)?.data ?? '';
}
