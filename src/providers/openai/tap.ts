import { errors, type GatewayError } from '../../core/errors.js';
import { isObject, tryParseJson } from '../../core/json.js';
import type { SseEvent } from '../../core/sse.js';
import type { Usage } from '../../core/usage.js';
import type { EventInspector, InspectResult } from '../shared/stream-tap.js';
import type { StreamTap } from '../types.js';
import { dropNullMembers, fillEmptyChoices, USAGE_CHUNK_CHOICES } from './chunk-shape.js';
import { parseOpenAIUsage } from './usage.js';

/**
 * Watches an OpenAI chat stream: usage (which may ride on a chunk that still has choices), errors,
 * `[DONE]`. When the gateway added `include_usage` on its own, the usage-only chunk is dropped so
 * the client sees the stream it asked for. Chunks reach the client in LiteLLM's shape (see
 * chunk-shape.ts): null members removed by a text edit, the usage chunk's `choices: []` filled.
 */
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/;

export class OpenAITapInspector implements EventInspector {
  constructor(
    private readonly clientWantsUsage: boolean,
    private readonly annotate?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined,
  ) {}

  wants(raw: string): boolean {
    // With include_usage every chunk carries "usage":null; only a usage object is worth parsing.
    return USAGE_OBJECT.test(raw) || raw.includes('[DONE]') || raw.includes('"error"');
  }

  /**
   * Content chunks: drop `"usage":null`, `"logprobs":null`, … without parsing. A chunk with no
   * choices and no usage (Azure's opening `prompt_filter_results`) carries nothing a chat client
   * reads and LiteLLM never emits one (CustomStreamWrapper skips content-free chunks); forwarded,
   * it would crash `data.get("choices", [{}])[0]`. Error events stay as sent.
   */
  edit(raw: string): string {
    if (!raw.includes('"choices"')) return raw;
    if (EMPTY_CHOICES.test(raw) && !USAGE_OBJECT.test(raw)) return '';
    return dropNullMembers(raw);
  }

  inspect(event: SseEvent, raw: string, tap: StreamTap): InspectResult {
    if (event.data === '[DONE]') {
      tap.completed = true;
      return undefined;
    }
    const chunk = tryParseJson(event.data);
    if (!isObject(chunk)) return undefined;
    if (isObject(chunk.error)) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'Upstream stream error';
      tap.error = streamError(message);
      return undefined;
    }
    if (typeof chunk.model === 'string') tap.model = chunk.model;
    if (!isObject(chunk.usage)) return undefined;
    tap.usage = parseOpenAIUsage(chunk.usage);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    if (!this.clientWantsUsage) return choices.length === 0 ? null : undefined;
    const extra = this.annotate?.(tap.usage);
    if (extra === undefined) return choices.length === 0 ? fillEmptyChoices(dropNullMembers(raw)) : undefined;
    // The one event that is re-serialised: the final usage, with the cost of exactly this usage.
    const shaped = { ...chunk, choices: choices.length === 0 ? USAGE_CHUNK_CHOICES : choices, usage: { ...chunk.usage, ...extra } };
    return dropNullMembers(`data: ${JSON.stringify(shaped)}\n\n`);
  }
}

function streamError(message: string): GatewayError {
  return errors.streamError(message);
}
