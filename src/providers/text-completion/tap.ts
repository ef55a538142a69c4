/**
 * Watches a passed-through `/v1/completions` stream: usage (the last chunk, `choices: []`, when
 * `include_usage` is on), errors, `[DONE]`. When the gateway added `include_usage` for metering,
 * that chunk is dropped again; when the client asked for it, it gets the cost added. Chunks reach
 * the client in LiteLLM's shape, as on the chat surface (openai/chunk-shape.ts): null members
 * removed by a text edit, and the usage chunk's `choices: []` given one empty text choice, so a
 * client reading `choices[0]` of every chunk does not break.
 */
import { errors } from '../../core/errors.js';
import { isObject, tryParseJson } from '../../core/json.js';
import type { SseEvent } from '../../core/sse.js';
import type { Usage } from '../../core/usage.js';
import { dropNullMembers } from '../openai/chunk-shape.js';
import { parseOpenAIUsage } from '../openai/usage.js';
import type { EventInspector, InspectResult } from '../shared/stream-tap.js';
import type { StreamTap } from '../types.js';

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** What the usage chunk's empty `choices` become. */
export const USAGE_CHUNK_TEXT_CHOICES = [{ text: '', index: 0 }] as const;

export class TextCompletionTapInspector implements EventInspector {
  constructor(
    private readonly clientWantsUsage: boolean,
    private readonly annotate?: ((usage: Usage) => Record<string, unknown> | undefined) | undefined,
  ) {}

  wants(raw: string): boolean {
    return USAGE_OBJECT.test(raw) || raw.includes('[DONE]') || raw.includes('"error"');
  }

  edit(raw: string): string {
    return raw.includes('"choices"') ? dropNullMembers(raw) : raw;
  }

  inspect(event: SseEvent, _raw: string, tap: StreamTap): InspectResult {
    if (event.data === '[DONE]') {
      tap.completed = true;
      return undefined;
    }
    const chunk = tryParseJson(event.data);
    if (!isObject(chunk)) return undefined;
    if (isObject(chunk.error)) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'Upstream stream error';
      tap.error = errors.streamError(message);
      return undefined;
    }
    if (typeof chunk.model === 'string') tap.model = chunk.model;
    if (!isObject(chunk.usage)) return undefined;
    tap.usage = parseOpenAIUsage(chunk.usage);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    if (!this.clientWantsUsage) return choices.length === 0 ? null : undefined;
    const extra = this.annotate?.(tap.usage);
    if (extra === undefined && choices.length > 0) return undefined;
    const shaped = { ...chunk, choices: choices.length === 0 ? USAGE_CHUNK_TEXT_CHOICES : choices, usage: { ...chunk.usage, ...extra } };
    return dropNullMembers(`data: ${JSON.stringify(shaped)}\n\n`);
  }
}
