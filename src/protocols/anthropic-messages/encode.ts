/** Canonical response, stream events and errors → Anthropic Messages wire. */
import type { GatewayError } from '../../core/errors.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import { encodeSse } from '../../core/sse.js';
import { mergeUsage, type Usage } from '../../core/usage.js';
import { renderAnthropicUsage } from './usage.js';

const STOP: Record<StopReason, string> = {
  end_turn: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  content_filter: 'refusal',
  refusal: 'refusal',
  pause_turn: 'pause_turn',
};

export function encodeAnthropicResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown> {
  return {
    id: anthropicId(response.id),
    type: 'message',
    role: 'assistant',
    model,
    content: response.content.map(block),
    stop_reason: STOP[response.stopReason],
    stop_sequence: response.stopSequence ?? null,
    usage: { ...renderAnthropicUsage(response.usage), ...extraUsage },
  };
}

function block(part: OutputPart): Record<string, unknown> {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'thinking':
      return { type: 'thinking', thinking: part.text, signature: part.signature ?? '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: part.data };
    case 'tool_call':
      return { type: 'tool_use', id: part.id, name: part.name, input: safeParse(part.arguments) };
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text) as unknown;
  } catch {
    return {};
  }
}

function anthropicId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id.replace(/^chatcmpl-/, '')}`;
}

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(error: GatewayError): string {
  if (error.upstream?.provider === 'anthropic' && error.upstream.type !== undefined) return error.upstream.type;
  if (error.code === 'overloaded') return 'overloaded_error';
  return ERROR_TYPE_BY_STATUS[error.status] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function encodeAnthropicError(error: GatewayError, requestId: string): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicErrorType(error), message: error.message }, request_id: requestId };
}

/**
 * Canonical events → Anthropic SSE. The terminal message_delta is held until the stream ends so it
 * carries the final stop reason and the complete usage (OpenAI upstreams report usage last).
 */
export class AnthropicStreamEncoder {
  private usage: Usage = {};
  private stop: { reason: StopReason; sequence?: string | undefined } | undefined;
  private readonly open = new Set<number>();
  private started = false;
  private messageId = '';

  constructor(private readonly model: string) {}

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'start':
        // Held until the first content event, so message_start can carry the input usage.
        this.messageId = anthropicId(event.id);
        return '';
      case 'usage':
        this.usage = mergeUsage(this.usage, event.usage);
        return '';
      case 'text':
        return this.startBlock(event.index, { type: 'text', text: '' }) + (event.text === '' ? '' : this.delta(event.index, { type: 'text_delta', text: event.text }));
      case 'thinking':
        return this.startBlock(event.index, { type: 'thinking', thinking: '', signature: '' }) + (event.text === '' ? '' : this.delta(event.index, { type: 'thinking_delta', thinking: event.text }));
      case 'thinking_signature':
        return this.startBlock(event.index, { type: 'thinking', thinking: '', signature: '' }) + this.delta(event.index, { type: 'signature_delta', signature: event.signature });
      case 'redacted_thinking':
        return this.startBlock(event.index, { type: 'redacted_thinking', data: event.data });
      case 'tool_call_start':
        return this.startBlock(event.index, { type: 'tool_use', id: event.id, name: event.name, input: {} });
      case 'tool_call_delta':
        if (!this.open.has(event.index)) return '';
        return this.delta(event.index, { type: 'input_json_delta', partial_json: event.argumentsDelta });
      case 'block_stop':
        if (!this.open.delete(event.index)) return '';
        return encodeSse(JSON.stringify({ type: 'content_block_stop', index: event.index }), 'content_block_stop');
      case 'finish':
        this.stop = { reason: event.stopReason, sequence: event.stopSequence };
        return '';
      case 'error':
        return this.error(event.error);
    }
  }

  /** The closing events, once the upstream is done. `extraUsage` (e.g. cost) joins the final usage. */
  end(extraUsage?: Record<string, unknown>): string {
    let out = this.messageStart();
    for (const index of this.open) out += encodeSse(JSON.stringify({ type: 'content_block_stop', index }), 'content_block_stop');
    this.open.clear();
    const delta = { stop_reason: STOP[this.stop?.reason ?? 'end_turn'], stop_sequence: this.stop?.sequence ?? null };
    out += encodeSse(JSON.stringify({ type: 'message_delta', delta, usage: { ...renderAnthropicUsage(this.usage), ...extraUsage } }), 'message_delta');
    out += encodeSse(JSON.stringify({ type: 'message_stop' }), 'message_stop');
    return out;
  }

  error(error: GatewayError): string {
    return encodeSse(JSON.stringify({ type: 'error', error: { type: anthropicErrorType(error), message: error.message } }), 'error');
  }

  get currentUsage(): Usage {
    return this.usage;
  }

  private messageStart(): string {
    if (this.started) return '';
    this.started = true;
    const message = { id: this.messageId, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: renderAnthropicUsage(this.usage) };
    return encodeSse(JSON.stringify({ type: 'message_start', message }), 'message_start');
  }

  private startBlock(index: number, contentBlock: Record<string, unknown>): string {
    if (this.open.has(index)) return '';
    this.open.add(index);
    return this.messageStart() + encodeSse(JSON.stringify({ type: 'content_block_start', index, content_block: contentBlock }), 'content_block_start');
  }

  private delta(index: number, delta: Record<string, unknown>): string {
    return encodeSse(JSON.stringify({ type: 'content_block_delta', index, delta }), 'content_block_delta');
  }
}
