/**
 * Gemini `GenerateContentResponse` (whole, or one SSE chunk of a stream) → canonical response and
 * events. Only the first candidate is an answer the surfaces can carry; usage covers all of them.
 *
 * Thought signatures: on a thought part they are that thinking block's signature; on a function
 * call they ride in the tool-call id (see tool-ids.ts); on a text part (Gemini 2.5 puts it on the
 * first text part after the thoughts, Gemini 3 on the last, or on an empty text part ending the
 * stream) they become a signature-only thinking block right after the text block, so the client
 * sends them back and convert-request puts them on that text part again.
 */
import { randomBytes } from 'node:crypto';
import { StreamFolder } from '../../core/collect.js';
import { asArray, asObject, asString, type JsonObject } from '../../core/json.js';
import type { StopReason } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { usageCounts } from '../../core/usage.js';
import { googleError } from './errors.js';
import { PartialFunctionCall } from './partial-args.js';
import { encodeToolCallId, newToolCallId } from './tool-ids.js';
import { hasGeminiCounts, parseGeminiUsage } from './usage.js';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION']);

export function geminiStopReason(finishReason: string | undefined, sawToolCall: boolean): StopReason {
  if (finishReason === 'MAX_TOKENS') return 'max_tokens';
  if (finishReason !== undefined && FILTERED.has(finishReason)) return 'content_filter';
  return sawToolCall ? 'tool_use' : 'end_turn';
}

/**
 * A whole response is decoded as a one-chunk stream and folded: the two paths cannot disagree about
 * blocks, ids or usage, which is what the fold(stream) = non-stream conformance asks.
 */
export function parseGeminiResponse(body: unknown, provider = 'gemini'): CanonicalResponse {
  const decoder = new GeminiStreamDecoder(provider);
  const folder = new StreamFolder();
  for (const event of decoder.decode(asObject(body) ?? {})) folder.add(event);
  for (const event of decoder.end(true)) folder.add(event);
  return folder.result();
}

function firstCandidate(response: JsonObject): JsonObject | undefined {
  const candidates = (asArray(response.candidates) ?? []).map(asObject).filter((c): c is JsonObject => c !== undefined);
  return candidates.find((c) => (c.index ?? 0) === 0) ?? candidates[0];
}

function responseId(response: JsonObject): string {
  return asString(response.responseId) ?? `gemini-${randomBytes(12).toString('hex')}`;
}

/**
 * Chunk-by-chunk decoder for `streamGenerateContent?alt=sse`. Each chunk carries new parts only, but
 * the usage so far: a usage event is emitted whenever the counts change, and the last one wins.
 */
export class GeminiStreamDecoder {
  private started = false;
  private nextIndex = 0;
  private open: { kind: 'text' | 'thinking'; index: number } | undefined;
  /** A text part's signature, emitted as its own block once the text block ends. */
  private textSignature: string | undefined;
  private partial: PartialFunctionCall | undefined;
  private sawToolCall = false;
  private finishReason: string | undefined;
  private blocked = false;
  private lastCounts = '';

  constructor(private readonly provider: string) {}

  decode(chunk: JsonObject): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      out.push({ type: 'start', id: responseId(chunk), model: asString(chunk.modelVersion) ?? '' });
    }
    const error = asObject(chunk.error);
    if (error !== undefined) {
      out.push({ type: 'error', error: googleError(error, this.provider) });
      return out;
    }
    const candidate = firstCandidate(chunk);
    for (const item of asArray(asObject(candidate?.content)?.parts) ?? []) {
      const part = asObject(item);
      if (part !== undefined) this.decodePart(part, out);
    }
    const finish = asString(candidate?.finishReason);
    if (finish !== undefined) this.finishReason = finish;
    if (candidate === undefined && asString(asObject(chunk.promptFeedback)?.blockReason) !== undefined) this.blocked = true;
    if (hasGeminiCounts(chunk.usageMetadata)) {
      const usage = parseGeminiUsage(chunk.usageMetadata);
      const counts = JSON.stringify(usageCounts(usage));
      if (counts !== this.lastCounts) {
        this.lastCounts = counts;
        out.push({ type: 'usage', usage });
      }
    }
    return out;
  }

  /**
   * Call when the stream ends: closes open blocks. A stream emits finish only if the upstream said how
   * it ended (otherwise it was cut); a whole response (`complete`) always has ended.
   */
  end(complete = false): StreamEvent[] {
    const out: StreamEvent[] = [];
    this.flushTextSignature(out);
    this.closeOpen(out);
    this.finishPartial(out);
    if (this.blocked) out.push({ type: 'finish', stopReason: 'content_filter' });
    else if (this.finishReason !== undefined || complete) out.push({ type: 'finish', stopReason: geminiStopReason(this.finishReason, this.sawToolCall) });
    return out;
  }

  private decodePart(part: JsonObject, out: StreamEvent[]): void {
    const signature = asString(part.thoughtSignature) || undefined;
    const call = asObject(part.functionCall);
    if (call !== undefined) return this.functionCall(call, signature, out);
    const text = asString(part.text) ?? '';
    if (part.thought === true) {
      const index = this.continueBlock('thinking', out);
      if (text !== '' || signature === undefined) out.push({ type: 'thinking', index, text });
      if (signature !== undefined) {
        out.push({ type: 'thinking_signature', index, signature });
        this.closeOpen(out);
      }
      return;
    }
    if (signature !== undefined) this.flushTextSignature(out);
    if (text !== '') out.push({ type: 'text', index: this.continueBlock('text', out), text });
    if (signature !== undefined) this.textSignature = signature;
  }

  private flushTextSignature(out: StreamEvent[]): void {
    const signature = this.textSignature;
    if (signature === undefined) return;
    this.textSignature = undefined;
    this.closeOpen(out);
    const index = this.nextIndex++;
    out.push({ type: 'thinking', index, text: '' }, { type: 'thinking_signature', index, signature }, { type: 'block_stop', index });
  }

  private functionCall(call: JsonObject, signature: string | undefined, out: StreamEvent[]): void {
    this.flushTextSignature(out);
    this.closeOpen(out);
    this.sawToolCall = true;
    const name = asString(call.name);
    const streamed = call.willContinue === true || call.partialArgs !== undefined;
    if (this.partial !== undefined && name === undefined) {
      this.partial.apply(call.partialArgs);
      if (!streamed) this.finishPartial(out);
      return;
    }
    this.finishPartial(out);
    const index = this.nextIndex++;
    const id = encodeToolCallId(asString(call.id) ?? newToolCallId(), signature);
    out.push({ type: 'tool_call_start', index, id, name: name ?? '' });
    if (streamed) {
      this.partial = new PartialFunctionCall(index, id, name ?? '');
      this.partial.apply(call.partialArgs);
      return;
    }
    out.push({ type: 'tool_call_delta', index, argumentsDelta: JSON.stringify(call.args ?? {}) }, { type: 'block_stop', index });
  }

  private finishPartial(out: StreamEvent[]): void {
    if (this.partial === undefined) return;
    const { index } = this.partial;
    out.push({ type: 'tool_call_delta', index, argumentsDelta: this.partial.json() }, { type: 'block_stop', index });
    this.partial = undefined;
  }

  private continueBlock(kind: 'text' | 'thinking', out: StreamEvent[]): number {
    if (this.open?.kind === kind) return this.open.index;
    if (kind !== 'text') this.flushTextSignature(out);
    this.closeOpen(out);
    this.finishPartial(out);
    this.open = { kind, index: this.nextIndex++ };
    return this.open.index;
  }

  private closeOpen(out: StreamEvent[]): void {
    if (this.open === undefined) return;
    out.push({ type: 'block_stop', index: this.open.index });
    this.open = undefined;
  }
}
