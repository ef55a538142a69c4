/**
 * Bedrock Converse answers → canonical: the JSON response, its usage, and ConverseStream events.
 *
 * Usage: `inputTokens` is the uncached part only (the captures show inputTokens 2 beside
 * cacheWriteInputTokens 1322, totalTokens 1329 = 2 + 1322 + 5 output), cache reads and writes are
 * reported beside it. Writes are split by TTL from `cacheDetails` when Bedrock sends it; otherwise
 * the TTL is the one the request's cache points asked for, which is Bedrock's default of 5 minutes
 * unless a `ttl` was given, so a write with no other information is billed as a 5m write.
 */
import { asArray, asNumber, asObject, asString, type JsonObject } from '../../core/json.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import { tokenCount, type Usage } from '../../core/usage.js';
import type { CacheWriteTtl } from './converse-request.js';

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
  model_context_window_exceeded: 'max_tokens',
};

export function converseStopReason(value: unknown): StopReason {
  return STOP_REASONS[asString(value) ?? ''] ?? 'end_turn';
}

export function parseConverseUsage(wire: unknown, writeTtl: CacheWriteTtl = '5m'): Usage {
  const usage = asObject(wire);
  if (usage === undefined) return {};
  const out: Usage = {
    inputUncached: tokenCount(usage.inputTokens),
    // Older responses spell the cache fields `…TokenCount`; both appear side by side in the captures.
    cacheRead: tokenCount(usage.cacheReadInputTokens) ?? tokenCount(usage.cacheReadInputTokenCount),
    output: tokenCount(usage.outputTokens),
    raw: wire,
  };
  const writes = tokenCount(usage.cacheWriteInputTokens) ?? tokenCount(usage.cacheWriteInputTokenCount);
  const details = asArray(usage.cacheDetails);
  if (details !== undefined && details.length > 0) {
    let w5m = 0;
    let w1h = 0;
    for (const item of details) {
      const detail = asObject(item);
      const tokens = tokenCount(detail?.inputTokens) ?? 0;
      if (detail?.ttl === '1h') w1h += tokens;
      else if (detail?.ttl === '5m') w5m += tokens;
    }
    const rest = (writes ?? w5m + w1h) - w5m - w1h;
    Object.assign(out, { cacheWrite5m: w5m, cacheWrite1h: w1h, cacheWriteUnknownTtl: rest > 0 ? rest : 0 });
  } else if (writes !== undefined) {
    Object.assign(out, {
      cacheWrite5m: writeTtl === '5m' ? writes : 0,
      cacheWrite1h: writeTtl === '1h' ? writes : 0,
      cacheWriteUnknownTtl: writeTtl === 'unknown' ? writes : 0,
    });
  }
  return out;
}

export interface ConverseMeta {
  /** Converse answers carry no id; the AWS request id stands in. */
  id: string;
  /** Nor a model name; the id we called is reported. */
  model: string;
  cacheWriteTtl: CacheWriteTtl;
}

function outputPart(block: JsonObject): OutputPart | undefined {
  if (typeof block.text === 'string') return { type: 'text', text: block.text };
  const toolUse = asObject(block.toolUse);
  if (toolUse !== undefined) {
    return { type: 'tool_call', id: asString(toolUse.toolUseId) ?? '', name: asString(toolUse.name) ?? '', arguments: JSON.stringify(toolUse.input ?? {}) };
  }
  const reasoning = asObject(block.reasoningContent);
  if (reasoning !== undefined) {
    const text = asObject(reasoning.reasoningText);
    if (text !== undefined) return { type: 'thinking', text: asString(text.text) ?? '', signature: asString(text.signature) };
    const redacted = asString(reasoning.redactedContent);
    if (redacted !== undefined) return { type: 'redacted_thinking', data: redacted };
  }
  return undefined;
}

function stopSequenceOf(response: JsonObject): string | undefined {
  return asString(asObject(response.additionalModelResponseFields)?.stop_sequence);
}

export function parseConverseResponse(body: unknown, meta: ConverseMeta): CanonicalResponse {
  const response = asObject(body) ?? {};
  const message = asObject(asObject(response.output)?.message) ?? {};
  const content: OutputPart[] = [];
  for (const item of asArray(message.content) ?? []) {
    const part = outputPart(asObject(item) ?? {});
    if (part !== undefined) content.push(part);
  }
  return {
    id: meta.id,
    model: meta.model,
    content,
    stopReason: converseStopReason(response.stopReason),
    stopSequence: stopSequenceOf(response),
    usage: parseConverseUsage(response.usage, meta.cacheWriteTtl),
  };
}

/** ConverseStream events (by `:event-type`) → canonical events, one frame at a time. */
export class ConverseStreamDecoder {
  usage: Usage = {};

  constructor(private readonly meta: ConverseMeta) {}

  decode(eventType: string | undefined, data: unknown): StreamEvent[] {
    const event = asObject(data) ?? {};
    const index = asNumber(event.contentBlockIndex) ?? 0;
    switch (eventType) {
      case 'messageStart':
        return [{ type: 'start', id: this.meta.id, model: this.meta.model }];
      case 'contentBlockStart': {
        // Text and reasoning blocks start with their first delta; only tool calls announce themselves.
        const toolUse = asObject(asObject(event.start)?.toolUse);
        if (toolUse === undefined) return [];
        return [{ type: 'tool_call_start', index, id: asString(toolUse.toolUseId) ?? '', name: asString(toolUse.name) ?? '' }];
      }
      case 'contentBlockDelta':
        return this.delta(index, asObject(event.delta) ?? {});
      case 'contentBlockStop':
        return [{ type: 'block_stop', index }];
      case 'messageStop':
        return [{ type: 'finish', stopReason: converseStopReason(event.stopReason), stopSequence: stopSequenceOf(event) }];
      case 'metadata': {
        if (event.usage === undefined) return [];
        this.usage = parseConverseUsage(event.usage, this.meta.cacheWriteTtl);
        return [{ type: 'usage', usage: this.usage }];
      }
      default:
        return [];
    }
  }

  private delta(index: number, delta: JsonObject): StreamEvent[] {
    if (typeof delta.text === 'string') return [{ type: 'text', index, text: delta.text }];
    const toolUse = asObject(delta.toolUse);
    if (toolUse !== undefined) return [{ type: 'tool_call_delta', index, argumentsDelta: asString(toolUse.input) ?? '' }];
    const reasoning = asObject(delta.reasoningContent);
    if (reasoning === undefined) return [];
    if (typeof reasoning.text === 'string') return [{ type: 'thinking', index, text: reasoning.text }];
    if (typeof reasoning.signature === 'string') return [{ type: 'thinking_signature', index, signature: reasoning.signature }];
    if (typeof reasoning.redactedContent === 'string') return [{ type: 'redacted_thinking', index, data: reasoning.redactedContent }];
    return [];
  }
}
