/** OpenAI chat completion wire (JSON and stream chunks) → canonical response and events. */
import { errors } from '../../core/errors.js';
import { asArray, asObject, asString, type JsonObject } from '../../core/json.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import { parseOpenAIUsage } from './usage.js';

const FINISH_REASONS: Record<string, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'content_filter',
};

export function openAIStopReason(value: unknown): StopReason {
  return FINISH_REASONS[asString(value) ?? ''] ?? 'end_turn';
}

export function parseOpenAICompletion(body: unknown): CanonicalResponse {
  const completion = asObject(body) ?? {};
  const choice = asObject(asArray(completion.choices)?.[0]) ?? {};
  const message = asObject(choice.message) ?? {};
  const content: OutputPart[] = [];
  const reasoning = asString(message.reasoning_content);
  if (reasoning !== undefined && reasoning !== '') content.push({ type: 'thinking', text: reasoning });
  const text = asString(message.content);
  if (text !== undefined) content.push({ type: 'text', text });
  const refusal = asString(message.refusal);
  if (refusal !== undefined && text === undefined) content.push({ type: 'text', text: refusal });
  for (const item of asArray(message.tool_calls) ?? []) {
    const call = asObject(item) ?? {};
    const fn = asObject(call.function) ?? {};
    content.push({ type: 'tool_call', id: asString(call.id) ?? '', name: asString(fn.name) ?? '', arguments: asString(fn.arguments) ?? '{}' });
  }
  return {
    id: asString(completion.id) ?? '',
    model: asString(completion.model) ?? '',
    content,
    stopReason: refusal !== undefined && text === undefined ? 'refusal' : openAIStopReason(choice.finish_reason),
    usage: parseOpenAIUsage(completion.usage),
  };
}

export function parseOpenAIError(status: number, text: string): { message: string; type?: string } {
  try {
    const error = asObject(asObject(JSON.parse(text) as unknown)?.error);
    const message = asString(error?.message);
    if (message !== undefined) return { message, type: asString(error?.type) ?? asString(error?.code) };
  } catch {
    // not JSON
  }
  return { message: text.trim().slice(0, 500) || `Upstream returned HTTP ${status}` };
}

/**
 * Chunk-by-chunk decoder. OpenAI has no block structure, so blocks are assigned as they appear:
 * reasoning, then text, then one block per tool call index.
 */
export class OpenAIStreamDecoder {
  private started = false;
  private nextIndex = 0;
  private thinkingBlock: number | undefined;
  private textBlock: number | undefined;
  private readonly toolBlocks = new Map<number, number>();
  private finish: StreamEvent | undefined;

  decode(chunk: JsonObject): StreamEvent[] {
    const out: StreamEvent[] = [];
    // Azure opens with a prompt_filter_results chunk whose id and model are empty: start on a real one.
    const id = asString(chunk.id) ?? '';
    if (!this.started && (id !== '' || (asArray(chunk.choices)?.length ?? 0) > 0)) {
      this.started = true;
      out.push({ type: 'start', id, model: asString(chunk.model) ?? '' });
    }
    if (chunk.error !== undefined) {
      const error = asObject(chunk.error) ?? {};
      out.push({
        type: 'error',
        error: errors.streamError(asString(error.message) ?? 'Upstream stream error'),
      });
      return out;
    }
    const choice = asObject(asArray(chunk.choices)?.[0]);
    if (choice !== undefined) this.decodeChoice(choice, out);
    if (chunk.usage !== undefined && chunk.usage !== null) out.push({ type: 'usage', usage: parseOpenAIUsage(chunk.usage) });
    return out;
  }

  /** Call when the stream ends: closes open blocks and emits the finish event last. */
  end(): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (const index of this.openBlocks()) out.push({ type: 'block_stop', index });
    if (this.finish !== undefined) out.push(this.finish);
    return out;
  }

  private decodeChoice(choice: JsonObject, out: StreamEvent[]): void {
    const delta = asObject(choice.delta) ?? {};
    const reasoning = asString(delta.reasoning_content);
    if (reasoning !== undefined && reasoning !== '') {
      this.thinkingBlock ??= this.nextIndex++;
      out.push({ type: 'thinking', index: this.thinkingBlock, text: reasoning });
    }
    const text = asString(delta.content);
    if (text !== undefined && (text !== '' || this.textBlock === undefined)) {
      this.textBlock ??= this.nextIndex++;
      out.push({ type: 'text', index: this.textBlock, text });
    }
    for (const item of asArray(delta.tool_calls) ?? []) {
      const call = asObject(item) ?? {};
      const fn = asObject(call.function) ?? {};
      const toolIndex = typeof call.index === 'number' ? call.index : 0;
      let block = this.toolBlocks.get(toolIndex);
      if (block === undefined) {
        block = this.nextIndex++;
        this.toolBlocks.set(toolIndex, block);
        out.push({ type: 'tool_call_start', index: block, id: asString(call.id) ?? '', name: asString(fn.name) ?? '' });
      }
      const args = asString(fn.arguments);
      if (args !== undefined && args !== '') out.push({ type: 'tool_call_delta', index: block, argumentsDelta: args });
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
      this.finish = { type: 'finish', stopReason: openAIStopReason(choice.finish_reason) };
    }
  }

  private openBlocks(): number[] {
    const blocks = [this.thinkingBlock, this.textBlock, ...this.toolBlocks.values()];
    return blocks.filter((b): b is number => b !== undefined).sort((a, b) => a - b);
  }
}
