/**
 * Cohere v2 chat answers → canonical. JSON: `message.content[]` (text, thinking), `message.tool_calls`,
 * `finish_reason` (COMPLETE, STOP_SEQUENCE, MAX_TOKENS, TOOL_CALL, ERROR, TIMEOUT), `usage`.
 * Stream (SSE, one JSON object per event, its `type` naming it): message-start, content-start /
 * content-delta / content-end, tool-plan-delta, tool-call-start / -delta / -end, citation-*,
 * message-end (finish reason and usage). Finish reasons map as LiteLLM's
 * CohereV2ModelResponseIterator maps them; ERROR and TIMEOUT are failures, not answers.
 */
import { errors, type GatewayError } from '../../core/errors.js';
import { asArray, asObject, asString, tryParseJson, type JsonObject } from '../../core/json.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import { parseCohereUsage } from './usage.js';

const FINISH: Record<string, StopReason> = {
  COMPLETE: 'end_turn',
  STOP_SEQUENCE: 'stop_sequence',
  MAX_TOKENS: 'max_tokens',
  TOOL_CALL: 'tool_use',
};

function finishError(reason: string, detail: string | undefined): GatewayError {
  const timeout = reason === 'TIMEOUT';
  const message = `Cohere ended the answer with ${reason}${detail === undefined ? '' : `: ${detail}`}`;
  const extras = { upstream: { provider: 'cohere', type: reason } };
  return timeout ? errors.timeout(message, extras) : errors.streamError(message, extras);
}

export function parseCohereChat(body: unknown): CanonicalResponse {
  const response = asObject(body) ?? {};
  const message = asObject(response.message) ?? {};
  const reason = (asString(response.finish_reason) ?? 'COMPLETE').toUpperCase();
  if (reason === 'ERROR' || reason === 'TIMEOUT') throw finishError(reason, undefined);
  const content: OutputPart[] = [];
  for (const item of asArray(message.content) ?? []) {
    const part = asObject(item) ?? {};
    if (part.type === 'thinking') content.push({ type: 'thinking', text: asString(part.thinking) ?? '' });
    else if (part.type === 'text') content.push({ type: 'text', text: asString(part.text) ?? '' });
  }
  for (const item of asArray(message.tool_calls) ?? []) {
    const call = asObject(item) ?? {};
    const fn = asObject(call.function) ?? {};
    content.push({ type: 'tool_call', id: asString(call.id) ?? '', name: asString(fn.name) ?? '', arguments: asString(fn.arguments) ?? '{}' });
  }
  return { id: asString(response.id) ?? '', model: '', content, stopReason: FINISH[reason] ?? 'end_turn', usage: parseCohereUsage(response.usage) };
}

/** Cohere errors are `{"id"?, "message": "…"}`. */
export function parseCohereError(status: number, text: string): { message: string; type?: string } {
  const body = asObject(tryParseJson(text));
  const message = asString(body?.message);
  if (message !== undefined) return { message };
  return { message: text.trim().slice(0, 500) || `Cohere returned HTTP ${status}` };
}

/** Stream events → canonical events; block indexes are assigned in order of appearance. */
export class CohereStreamDecoder {
  private nextIndex = 0;
  private readonly blocks = new Map<string, number>();
  private finished = false;

  get complete(): boolean {
    return this.finished;
  }

  decode(event: JsonObject): StreamEvent[] {
    const delta = asObject(event.delta) ?? {};
    const message = asObject(delta.message) ?? {};
    const position = typeof event.index === 'number' ? event.index : 0;
    switch (event.type) {
      case 'message-start':
        return [{ type: 'start', id: asString(event.id) ?? '', model: '' }];
      case 'content-start': {
        const content = asObject(message.content) ?? {};
        const index = this.open(`content:${position}`);
        if (content.type === 'thinking') return [{ type: 'thinking', index, text: asString(content.thinking) ?? '' }];
        return [{ type: 'text', index, text: asString(content.text) ?? '' }];
      }
      case 'content-delta': {
        const content = asObject(message.content) ?? {};
        const index = this.blocks.get(`content:${position}`) ?? this.open(`content:${position}`);
        const thinking = asString(content.thinking);
        if (thinking !== undefined) return [{ type: 'thinking', index, text: thinking }];
        return [{ type: 'text', index, text: asString(content.text) ?? '' }];
      }
      case 'content-end':
        return this.close(`content:${position}`);
      case 'tool-call-start': {
        const call = asObject(message.tool_calls) ?? asObject(asArray(message.tool_calls)?.[0]) ?? {};
        const fn = asObject(call.function) ?? {};
        const index = this.open(`tool:${position}`);
        const out: StreamEvent[] = [{ type: 'tool_call_start', index, id: asString(call.id) ?? '', name: asString(fn.name) ?? '' }];
        const args = asString(fn.arguments);
        if (args !== undefined && args !== '') out.push({ type: 'tool_call_delta', index, argumentsDelta: args });
        return out;
      }
      case 'tool-call-delta': {
        const call = asObject(message.tool_calls) ?? asObject(asArray(message.tool_calls)?.[0]) ?? {};
        const args = asString(asObject(call.function)?.arguments);
        const index = this.blocks.get(`tool:${position}`);
        return index === undefined || args === undefined || args === '' ? [] : [{ type: 'tool_call_delta', index, argumentsDelta: args }];
      }
      case 'tool-call-end':
        return this.close(`tool:${position}`);
      case 'message-end': {
        const reason = (asString(delta.finish_reason) ?? 'COMPLETE').toUpperCase();
        const detail = asString(delta.error);
        if (reason === 'ERROR' || reason === 'TIMEOUT' || (detail !== undefined && detail !== '')) {
          return [{ type: 'error', error: finishError(reason === 'TIMEOUT' ? 'TIMEOUT' : 'ERROR', detail) }];
        }
        this.finished = true;
        const out: StreamEvent[] = [...this.blocks.keys()].flatMap((key) => this.close(key));
        if (delta.usage !== undefined) out.push({ type: 'usage', usage: parseCohereUsage(delta.usage) });
        out.push({ type: 'finish', stopReason: FINISH[reason] ?? 'end_turn' });
        return out;
      }
      default:
        // tool-plan-delta, citation-start/-end, debug: no canonical counterpart.
        return [];
    }
  }

  private open(key: string): number {
    const index = this.nextIndex++;
    this.blocks.set(key, index);
    return index;
  }

  private close(key: string): StreamEvent[] {
    const index = this.blocks.get(key);
    if (index === undefined) return [];
    this.blocks.delete(key);
    return [{ type: 'block_stop', index }];
  }
}
