/** Canonical response, stream events and errors → OpenAI chat completions wire. */
import { randomUUID } from 'node:crypto';
import type { GatewayError } from '../../core/errors.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { encodeSse } from '../../core/sse.js';
import { mergeUsage, type Usage } from '../../core/usage.js';
import { renderOpenAIUsage } from './usage.js';

const FINISH: Record<StopReason, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  content_filter: 'content_filter',
  refusal: 'content_filter',
};

function completionId(id: string): string {
  return id.startsWith('chatcmpl-') ? id : `chatcmpl-${id === '' ? randomUUID() : id}`;
}

export function encodeOpenAIResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown> {
  const text = response.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  const thinking = response.content.filter((p) => p.type === 'thinking');
  const toolCalls = response.content.flatMap((p) =>
    p.type === 'tool_call' ? [{ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } }] : [],
  );
  const message: Record<string, unknown> = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinking.length > 0) {
    message.reasoning_content = thinking.map((t) => t.text).join('');
    message.thinking_blocks = thinking.map((t) => ({ type: 'thinking', thinking: t.text, signature: t.signature ?? '' }));
  }
  return {
    id: completionId(response.id),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[response.stopReason] }],
    usage: { ...renderOpenAIUsage(response.usage), ...extraUsage },
  };
}

const ERROR_TYPE: Partial<Record<GatewayError['code'], string>> = {
  authentication: 'auth_error',
  permission_denied: 'permission_error',
  not_found: 'not_found_error',
  rate_limit: 'rate_limit_error',
  budget_exceeded: 'budget_exceeded',
  overloaded: 'overloaded_error',
  timeout: 'timeout_error',
  request_too_large: 'invalid_request_error',
  internal: 'internal_server_error',
};

/** LiteLLM's envelope: `code` is the HTTP status as a string. */
export function encodeOpenAIError(error: GatewayError): Record<string, unknown> {
  const type = error.type ?? ERROR_TYPE[error.code] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error');
  return { error: { message: error.message, type, param: error.param ?? null, code: String(error.status) } };
}

/**
 * Canonical events → chat.completion.chunk SSE, in LiteLLM's shape rather than OpenAI's: LiteLLM
 * serialises chunks with `exclude_none` (litellm/proxy/proxy_server.py, `_serialize_streaming_chunk`),
 * so a choice is `{"index":0,"delta":{…}}` plus `finish_reason` only once there is one — no
 * `logprobs: null`, no `usage: null` — and its final usage chunk carries one empty choice,
 * `[{"index":0,"delta":{}}]` (`CustomStreamWrapper.model_response_creator()` in
 * litellm/litellm_core_utils/streaming_handler.py), where OpenAI sends `choices: []`. Finish and
 * usage are held to the end so the usage chunk (sent only when the client asked with include_usage)
 * is complete.
 */
export class OpenAIStreamEncoder {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: Usage = {};
  private finish: StopReason | undefined;
  private sentRole = false;
  private readonly toolIndex = new Map<number, number>();

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {
    this.id = completionId(randomUUID());
  }

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'start':
        return '';
      case 'usage':
        this.usage = mergeUsage(this.usage, event.usage);
        return '';
      case 'text':
        return event.text === '' && this.sentRole ? '' : this.chunk({ content: event.text });
      case 'thinking':
        return event.text === '' ? '' : this.chunk({ reasoning_content: event.text });
      case 'thinking_signature':
      case 'redacted_thinking':
      case 'block_stop':
        return '';
      case 'tool_call_start': {
        const index = this.toolIndex.size;
        this.toolIndex.set(event.index, index);
        return this.chunk({ tool_calls: [{ index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } }] });
      }
      case 'tool_call_delta': {
        const index = this.toolIndex.get(event.index);
        if (index === undefined) return '';
        return this.chunk({ tool_calls: [{ index, function: { arguments: event.argumentsDelta } }] });
      }
      case 'finish':
        this.finish = event.stopReason;
        return '';
      case 'error':
        return this.error(event.error);
    }
  }

  end(extraUsage?: Record<string, unknown>): string {
    let out = this.chunk({}, FINISH[this.finish ?? 'end_turn']);
    if (this.includeUsage) {
      const usage = { ...renderOpenAIUsage(this.usage), ...extraUsage };
      const choices = [{ index: 0, delta: {} }];
      out += encodeSse(JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices, usage }));
    }
    return `${out}data: [DONE]\n\n`;
  }

  /** LiteLLM's mid-stream error: a data event carrying the error envelope. */
  error(error: GatewayError): string {
    return encodeSse(JSON.stringify(encodeOpenAIError(error)));
  }

  get currentUsage(): Usage {
    return this.usage;
  }

  private chunk(delta: Record<string, unknown>, finishReason?: string): string {
    if (!this.sentRole) {
      delta = { role: 'assistant', ...delta };
      this.sentRole = true;
    }
    const choice = finishReason === undefined ? { index: 0, delta } : { index: 0, delta, finish_reason: finishReason };
    return encodeSse(JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [choice] }));
  }
}
