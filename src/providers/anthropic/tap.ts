import { tryParseJson, isObject } from '../../core/json.js';
import type { SseEvent } from '../../core/sse.js';
import type { Usage } from '../../core/usage.js';
import type { EventInspector, InspectResult } from '../shared/stream-tap.js';
import type { StreamTap } from '../types.js';
import { anthropicStreamError } from './parse-response.js';
import { mergeAnthropicUsage, parseAnthropicUsage } from './usage.js';

/** Watches an Anthropic SSE stream: usage from message_start/message_delta, errors, message_stop. */
export class AnthropicTapInspector implements EventInspector {
  constructor(private readonly annotate?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined) {}

  isPreamble(raw: string): boolean {
    return raw.includes('message_start') || raw.startsWith('event: ping');
  }

  wants(raw: string): boolean {
    // Content deltas are most of the stream and carry nothing we meter: skip them unparsed.
    return !raw.includes('_delta"') || raw.includes('message_delta');
  }

  inspect(event: SseEvent, _raw: string, tap: StreamTap): InspectResult {
    const data = tryParseJson(event.data);
    if (!isObject(data)) return undefined;
    switch (event.event ?? data.type) {
      case 'message_start': {
        const message = isObject(data.message) ? data.message : {};
        tap.usage = parseAnthropicUsage(message.usage);
        if (typeof message.model === 'string') tap.model = message.model;
        return undefined;
      }
      case 'message_delta': {
        tap.usage = mergeAnthropicUsage(tap.usage, data.usage);
        const extra = this.annotate?.(tap.usage);
        if (extra === undefined || !isObject(data.usage)) return undefined;
        return `event: message_delta\ndata: ${JSON.stringify({ ...data, usage: { ...data.usage, ...extra } })}\n\n`;
      }
      case 'message_stop':
        tap.completed = true;
        return undefined;
      case 'error':
        tap.error = anthropicStreamError(data);
        return undefined;
      default:
        return undefined;
    }
  }
}
