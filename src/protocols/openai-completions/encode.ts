/**
 * Canonical response and stream events → the legacy `text_completion` wire, as LiteLLM's
 * TextCompletionStreamWrapper / TextCompletionResponse render a chat model's answer
 * (litellm/utils.py): `object: "text_completion"`, one `choices[].text` per chunk, `usage` only on
 * the last chunk and only when the client asked with `stream_options.include_usage`. Chunks are
 * serialised as LiteLLM's `exclude_none` does: no `"usage": null`, no `"finish_reason": null`. The
 * last chunk keeps a non-empty `choices`, so clients that read `choices[0]` of every chunk do not
 * break. Errors use the OpenAI envelope.
 */
import { randomUUID } from 'node:crypto';
import type { GatewayError } from '../../core/errors.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { encodeSse } from '../../core/sse.js';
import { mergeUsage, type Usage } from '../../core/usage.js';
import { encodeOpenAIError } from '../openai-chat/encode.js';
import { renderOpenAIUsage } from '../openai-chat/usage.js';

const FINISH: Record<StopReason, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'stop',
  content_filter: 'content_filter',
  refusal: 'content_filter',
};

function completionId(id: string): string {
  return id.startsWith('cmpl-') ? id : `cmpl-${id === '' ? randomUUID() : id}`;
}

export function encodeCompletionsResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown> {
  const text = response.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  return {
    id: completionId(response.id),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: FINISH[response.stopReason] }],
    usage: { ...renderOpenAIUsage(response.usage), ...extraUsage },
  };
}

export function encodeCompletionsError(error: GatewayError): Record<string, unknown> {
  return encodeOpenAIError(error);
}

export class CompletionsStreamEncoder {
  private readonly id = completionId(randomUUID());
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: Usage = {};
  private finish: StopReason | undefined;

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'usage':
        this.usage = mergeUsage(this.usage, event.usage);
        return '';
      case 'text':
        return event.text === '' ? '' : this.chunk(event.text, null);
      case 'finish':
        this.finish = event.stopReason;
        return '';
      case 'error':
        return this.error(event.error);
      default:
        // Thinking and tool calls have no place in a text completion.
        return '';
    }
  }

  end(extraUsage?: Record<string, unknown>): string {
    const usage = this.includeUsage ? { ...renderOpenAIUsage(this.usage), ...extraUsage } : undefined;
    return `${this.chunk('', FINISH[this.finish ?? 'end_turn'], usage)}data: [DONE]\n\n`;
  }

  error(error: GatewayError): string {
    return encodeSse(JSON.stringify(encodeOpenAIError(error)));
  }

  private chunk(text: string, finishReason: string | null, usage?: Record<string, unknown>): string {
    const body: Record<string, unknown> = {
      id: this.id,
      object: 'text_completion',
      created: this.created,
      model: this.model,
      choices: [finishReason === null ? { text, index: 0 } : { text, index: 0, finish_reason: finishReason }],
    };
    if (usage !== undefined) body.usage = usage;
    return encodeSse(JSON.stringify(body));
  }
}
