/** Anthropic Messages wire (JSON and SSE events) → canonical response and events. */
import { errors, type ErrorCode, type GatewayError } from '../../core/errors.js';
import { asArray, asObject, asString, type JsonObject } from '../../core/json.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import type { Usage } from '../../core/usage.js';
import { mergeAnthropicUsage, parseAnthropicUsage } from './usage.js';

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  pause_turn: 'pause_turn',
  refusal: 'refusal',
  model_context_window_exceeded: 'max_tokens',
};

export function anthropicStopReason(value: unknown): StopReason {
  return STOP_REASONS[asString(value) ?? ''] ?? 'end_turn';
}

export function parseAnthropicMessage(body: unknown): CanonicalResponse {
  const message = asObject(body) ?? {};
  const content: OutputPart[] = [];
  for (const item of asArray(message.content) ?? []) {
    const part = asObject(item);
    if (part === undefined) continue;
    const converted = outputPart(part);
    if (converted !== undefined) content.push(converted);
  }
  return {
    id: asString(message.id) ?? '',
    model: asString(message.model) ?? '',
    content,
    stopReason: anthropicStopReason(message.stop_reason),
    stopSequence: asString(message.stop_sequence),
    usage: parseAnthropicUsage(message.usage),
  };
}

function outputPart(part: JsonObject): OutputPart | undefined {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: asString(part.text) ?? '' };
    case 'thinking':
      return { type: 'thinking', text: asString(part.thinking) ?? '', signature: asString(part.signature) };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: asString(part.data) ?? '' };
    case 'tool_use':
      return {
        type: 'tool_call',
        id: asString(part.id) ?? '',
        name: asString(part.name) ?? '',
        arguments: JSON.stringify(part.input ?? {}),
      };
    default:
      // Server-tool blocks have no canonical form; the passthrough path keeps them.
      return undefined;
  }
}

/** Anthropic's error types → code and status; retryability comes from the catalogue (`errors.upstreamAs`). */
const ERROR_TYPES: Record<string, { code: ErrorCode; status: number }> = {
  overloaded_error: { code: 'overloaded', status: 529 },
  rate_limit_error: { code: 'rate_limit', status: 429 },
  api_error: { code: 'upstream_error', status: 500 },
  timeout_error: { code: 'timeout', status: 504 },
  invalid_request_error: { code: 'invalid_request', status: 400 },
  authentication_error: { code: 'authentication', status: 401 },
  permission_error: { code: 'permission_denied', status: 403 },
  not_found_error: { code: 'not_found', status: 404 },
  request_too_large: { code: 'request_too_large', status: 413 },
};

/** An `error` event inside a stream (HTTP status was already 200). */
export function anthropicStreamError(data: unknown): GatewayError {
  const error = asObject(asObject(data)?.error) ?? {};
  const type = asString(error.type) ?? 'api_error';
  const mapped = ERROR_TYPES[type] ?? { code: 'upstream_error' as const, status: 500 };
  return errors.upstreamAs(mapped.code, mapped.status, {
    message: asString(error.message) ?? type,
    upstream: { status: mapped.status, type, provider: 'anthropic', body: JSON.stringify(data).slice(0, 4096) },
  });
}

export function parseAnthropicError(_status: number, text: string): { message: string; type?: string } {
  try {
    const error = asObject(asObject(JSON.parse(text) as unknown)?.error);
    const message = asString(error?.message);
    if (message !== undefined) return { message, type: asString(error?.type) };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.trim().slice(0, 500) || `Anthropic returned HTTP ${_status}` };
}

/**
 * Converts Anthropic stream events to canonical ones, one event at a time. Keeps the merged usage so
 * that message_delta's totals are attributed with message_start's cache TTL breakdown.
 */
export class AnthropicStreamDecoder {
  usage: Usage = {};
  /** Blocks with a canonical form; deltas of others (server tools) are dropped with their block. */
  private readonly known = new Set<number>();

  decode(type: string | undefined, data: unknown): StreamEvent[] {
    const event = asObject(data) ?? {};
    switch (type ?? asString(event.type)) {
      case 'message_start': {
        const message = asObject(event.message) ?? {};
        this.usage = parseAnthropicUsage(message.usage);
        return [
          { type: 'start', id: asString(message.id) ?? '', model: asString(message.model) ?? '' },
          { type: 'usage', usage: this.usage },
        ];
      }
      case 'content_block_start':
        return this.blockStart(Number(event.index ?? 0), asObject(event.content_block) ?? {});
      case 'content_block_delta':
        return this.blockDelta(Number(event.index ?? 0), asObject(event.delta) ?? {});
      case 'content_block_stop': {
        const index = Number(event.index ?? 0);
        return this.known.delete(index) ? [{ type: 'block_stop', index }] : [];
      }
      case 'message_delta': {
        const out: StreamEvent[] = [];
        const delta = asObject(event.delta) ?? {};
        if (event.usage !== undefined) {
          this.usage = mergeAnthropicUsage(this.usage, event.usage);
          out.push({ type: 'usage', usage: this.usage });
        }
        if (delta.stop_reason !== undefined && delta.stop_reason !== null) {
          out.unshift({ type: 'finish', stopReason: anthropicStopReason(delta.stop_reason), stopSequence: asString(delta.stop_sequence) });
        }
        return out;
      }
      case 'error':
        return [{ type: 'error', error: anthropicStreamError(data) }];
      default:
        return [];
    }
  }

  private blockStart(index: number, block: JsonObject): StreamEvent[] {
    const events = this.startEvents(index, block);
    if (events.length > 0) this.known.add(index);
    return events;
  }

  private startEvents(index: number, block: JsonObject): StreamEvent[] {
    switch (block.type) {
      case 'text':
        return [{ type: 'text', index, text: asString(block.text) ?? '' }];
      case 'thinking':
        return [{ type: 'thinking', index, text: asString(block.thinking) ?? '' }];
      case 'redacted_thinking':
        return [{ type: 'redacted_thinking', index, data: asString(block.data) ?? '' }];
      case 'tool_use':
        return [{ type: 'tool_call_start', index, id: asString(block.id) ?? '', name: asString(block.name) ?? '' }];
      default:
        return [];
    }
  }

  private blockDelta(index: number, delta: JsonObject): StreamEvent[] {
    if (!this.known.has(index)) return [];
    switch (delta.type) {
      case 'text_delta':
        return [{ type: 'text', index, text: asString(delta.text) ?? '' }];
      case 'thinking_delta':
        return [{ type: 'thinking', index, text: asString(delta.thinking) ?? '' }];
      case 'signature_delta':
        return [{ type: 'thinking_signature', index, signature: asString(delta.signature) ?? '' }];
      case 'input_json_delta':
        return [{ type: 'tool_call_delta', index, argumentsDelta: asString(delta.partial_json) ?? '' }];
      default:
        return [];
    }
  }
}
