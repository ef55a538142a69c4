/**
 * Canonical response, stream events and errors → the Responses API wire, for answers translated
 * from another dialect. Output items in the order the model produced them: `reasoning` (thinking,
 * see reasoning-item.ts), `message` with one `output_text` part, `function_call`. The stream is
 * OpenAI's event sequence — response.created, response.in_progress, per item output_item.added …
 * deltas … output_item.done, then response.completed (response.incomplete when the output limit
 * cut it) carrying the whole response and its usage — each event with its `sequence_number`, and no
 * `[DONE]` (the Responses API does not send one).
 */
import { randomBytes } from 'node:crypto';
import type { GatewayError } from '../../core/errors.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from '../../core/response.js';
import { encodeSse } from '../../core/sse.js';
import { mergeUsage, type Usage } from '../../core/usage.js';
import { encodeOpenAIError } from '../openai-chat/encode.js';
import { encryptedContentOf } from './reasoning-item.js';
import { renderResponsesUsage } from './usage.js';

type Item = Record<string, unknown>;

/** OpenAI's ids: a prefix and 48 hex digits. */
export function itemId(prefix: 'resp' | 'msg' | 'rs' | 'fc'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

function responseId(id: string): string {
  return id.startsWith('resp_') ? id : itemId('resp');
}

function status(stop: StopReason | undefined): { status: string; incomplete_details: Record<string, unknown> | null } {
  if (stop === 'max_tokens') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (stop === 'content_filter' || stop === 'refusal') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

function messageItem(id: string, text: string, done: boolean): Item {
  return {
    id,
    type: 'message',
    status: done ? 'completed' : 'in_progress',
    content: done ? [outputText(text)] : [],
    role: 'assistant',
  };
}

function outputText(text: string): Item {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

function reasoningItem(id: string, text: string, encrypted: string | undefined): Item {
  const item: Item = { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] };
  if (encrypted !== undefined) item.encrypted_content = encrypted;
  return item;
}

function functionCallItem(id: string, callId: string, name: string, args: string, done: boolean): Item {
  return { id, type: 'function_call', status: done ? 'completed' : 'in_progress', arguments: args, call_id: callId, name };
}

function outputItems(content: readonly OutputPart[]): Item[] {
  const items: Item[] = [];
  let text: string[] | undefined;
  const flushText = (): void => {
    if (text !== undefined) items.push(messageItem(itemId('msg'), text.join(''), true));
    text = undefined;
  };
  for (const part of content) {
    if (part.type === 'text') {
      (text ??= []).push(part.text);
      continue;
    }
    flushText();
    if (part.type === 'tool_call') items.push(functionCallItem(itemId('fc'), part.id, part.name, part.arguments, true));
    else items.push(reasoningItem(itemId('rs'), part.type === 'thinking' ? part.text : '', encryptedContentOf(part)));
  }
  flushText();
  return items;
}

function responseObject(id: string, createdAt: number, model: string, state: Item, output: Item[], usage: Record<string, unknown> | null): Item {
  return { id, object: 'response', created_at: createdAt, ...state, error: null, model, output, parallel_tool_calls: true, tool_choice: 'auto', tools: [], usage };
}

export function encodeResponsesResponse(response: CanonicalResponse, model: string, extraUsage?: Record<string, unknown>): Record<string, unknown> {
  const usage = { ...renderResponsesUsage(response.usage), ...extraUsage };
  return responseObject(responseId(response.id), Math.floor(Date.now() / 1000), model, status(response.stopReason), outputItems(response.content), usage);
}

/** Before a stream has begun: the OpenAI envelope LiteLLM answers every OpenAI route with. */
export function encodeResponsesError(error: GatewayError): Record<string, unknown> {
  return encodeOpenAIError(error);
}

interface OpenItem {
  outputIndex: number;
  kind: 'message' | 'reasoning' | 'function_call';
  id: string;
  text: string[];
  /** function_call: its call id and name; reasoning: the encrypted content once known. */
  callId?: string | undefined;
  name?: string | undefined;
  encrypted?: string | undefined;
}

export class ResponsesStreamEncoder {
  private readonly id = itemId('resp');
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private sequence = 0;
  private started = false;
  private usage: Usage = {};
  private finish: StopReason | undefined;
  private readonly open = new Map<number, OpenItem>();
  private readonly done: (Item | undefined)[] = [];
  private outputCount = 0;

  constructor(private readonly model: string) {}

  encode(event: StreamEvent): string {
    switch (event.type) {
      case 'start':
        return this.start();
      case 'usage':
        this.usage = mergeUsage(this.usage, event.usage);
        return '';
      case 'text':
        return this.delta(event.index, 'message', event.text);
      case 'thinking':
        return this.delta(event.index, 'reasoning', event.text);
      case 'thinking_signature': {
        const item = this.open.get(event.index);
        if (item !== undefined) item.encrypted = encryptedContentOf({ type: 'thinking', text: '', signature: event.signature });
        return '';
      }
      case 'redacted_thinking': {
        let out = this.openItem(event.index, 'reasoning');
        const item = this.open.get(event.index);
        if (item !== undefined) item.encrypted = encryptedContentOf({ type: 'redacted_thinking', data: event.data });
        out += this.close(event.index);
        return out;
      }
      case 'tool_call_start':
        return this.openItem(event.index, 'function_call', event.id, event.name);
      case 'tool_call_delta': {
        const item = this.open.get(event.index);
        if (item === undefined || event.argumentsDelta === '') return '';
        item.text.push(event.argumentsDelta);
        return this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: event.argumentsDelta });
      }
      case 'block_stop':
        return this.close(event.index);
      case 'finish':
        this.finish = event.stopReason;
        return '';
      case 'error':
        return this.error(event.error);
    }
  }

  end(extraUsage?: Record<string, unknown>): string {
    let out = this.start();
    for (const index of [...this.open.keys()]) out += this.close(index);
    const state = status(this.finish);
    const usage = { ...renderResponsesUsage(this.usage), ...extraUsage };
    const response = responseObject(this.id, this.createdAt, this.model, state, this.output(), usage);
    return out + this.event(state.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
  }

  /**
   * OpenAI's mid-stream failure, as its API sends it: an `error` event with the error, then
   * `response.failed` carrying the response with its `error` set.
   */
  error(error: GatewayError): string {
    const rendered = encodeOpenAIError(error).error as Record<string, unknown>;
    const code = error.type ?? error.code;
    let out = this.start();
    out += this.event('error', { error: { type: rendered.type, code, message: error.message, param: rendered.param ?? null } });
    const response = responseObject(this.id, this.createdAt, this.model, { status: 'failed', incomplete_details: null }, this.output(), null);
    return out + this.event('response.failed', { response: { ...response, error: { code, message: error.message } } });
  }

  /** The finished items in output order (an item can finish after one opened later). */
  private output(): Item[] {
    return this.done.filter((item): item is Item => item !== undefined);
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const response = responseObject(this.id, this.createdAt, this.model, { status: 'in_progress', incomplete_details: null }, [], null);
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private delta(index: number, kind: 'message' | 'reasoning', text: string): string {
    let out = this.openItem(index, kind);
    const item = this.open.get(index);
    if (item === undefined || text === '') return out;
    item.text.push(text);
    if (kind === 'message') out += this.event('response.output_text.delta', { content_index: 0, delta: text, item_id: item.id, output_index: item.outputIndex });
    else out += this.event('response.reasoning_summary_text.delta', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, delta: text });
    return out;
  }

  private openItem(index: number, kind: OpenItem['kind'], callId?: string, name?: string): string {
    if (this.open.has(index)) return '';
    let out = this.start();
    const prefix = kind === 'message' ? 'msg' : kind === 'reasoning' ? 'rs' : 'fc';
    const item: OpenItem = { outputIndex: this.outputCount++, kind, id: itemId(prefix), text: [], callId, name };
    this.open.set(index, item);
    const shown = kind === 'message' ? messageItem(item.id, '', false) : kind === 'reasoning' ? reasoningItem(item.id, '', undefined) : functionCallItem(item.id, callId ?? '', name ?? '', '', false);
    out += this.event('response.output_item.added', { item: shown, output_index: item.outputIndex });
    if (kind === 'message') out += this.event('response.content_part.added', { content_index: 0, item_id: item.id, output_index: item.outputIndex, part: outputText('') });
    if (kind === 'reasoning') out += this.event('response.reasoning_summary_part.added', { item_id: item.id, output_index: item.outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } });
    return out;
  }

  private close(index: number): string {
    const item = this.open.get(index);
    if (item === undefined) return '';
    this.open.delete(index);
    const text = item.text.join('');
    const at = { item_id: item.id, output_index: item.outputIndex };
    let out = '';
    let whole: Item;
    if (item.kind === 'message') {
      out += this.event('response.output_text.done', { content_index: 0, ...at, logprobs: [], text });
      out += this.event('response.content_part.done', { content_index: 0, ...at, part: outputText(text) });
      whole = messageItem(item.id, text, true);
    } else if (item.kind === 'reasoning') {
      out += this.event('response.reasoning_summary_text.done', { ...at, summary_index: 0, text });
      out += this.event('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text } });
      whole = reasoningItem(item.id, text, item.encrypted);
    } else {
      // A call without arguments still carries a JSON object (clients parse it), as OpenAI sends it.
      const args = text === '' ? '{}' : text;
      if (text === '') out += this.event('response.function_call_arguments.delta', { ...at, delta: args });
      out += this.event('response.function_call_arguments.done', { ...at, arguments: args });
      whole = functionCallItem(item.id, item.callId ?? '', item.name ?? '', args, true);
    }
    this.done[item.outputIndex] = whole;
    return out + this.event('response.output_item.done', { item: whole, output_index: item.outputIndex });
  }

  private event(type: string, fields: Record<string, unknown>): string {
    return encodeSse(JSON.stringify({ type, ...fields, sequence_number: this.sequence++ }), type);
  }
}
