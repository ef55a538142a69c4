/**
 * Canonical request ↔ OpenAI's legacy `/v1/completions` wire, for chat and Anthropic clients sent
 * to a `text-completion-openai/…` deployment. The conversation becomes one prompt string (LiteLLM's
 * `_transform_prompt` sends one prompt per message instead, which makes the upstream answer each
 * message separately; one prompt is what a chat client means).
 */
import { asArray, asObject, asString, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { openAIStopReason } from '../openai/parse-response.js';
import { parseOpenAIUsage } from '../openai/usage.js';

function partText(part: ContentPart): string {
  if (part.type === 'text') return part.text;
  if (part.type === 'tool_result') return typeof part.content === 'string' ? part.content : part.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
  if (part.type === 'document' && part.source.kind === 'text') return part.source.data;
  return '';
}

export function toCompletionsPrompt(request: CanonicalRequest): string {
  const texts = [request.system.map((p) => p.text).join('\n'), ...request.messages.map((m) => m.content.map(partText).filter((t) => t !== '').join('\n'))];
  return texts.filter((t) => t !== '').join('\n\n');
}

export function toCompletionsBody(request: CanonicalRequest, model: string): JsonObject {
  const body: JsonObject = { model, prompt: toCompletionsPrompt(request) };
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop;
  if (request.user !== undefined) body.user = request.user;
  if (request.stream) body.stream = true;
  return body;
}

export function parseTextCompletion(body: unknown): CanonicalResponse {
  const completion = asObject(body) ?? {};
  const choice = asObject(asArray(completion.choices)?.[0]) ?? {};
  return {
    id: asString(completion.id) ?? '',
    model: asString(completion.model) ?? '',
    content: [{ type: 'text', text: asString(choice.text) ?? '' }],
    stopReason: openAIStopReason(choice.finish_reason),
    usage: parseOpenAIUsage(completion.usage),
  };
}

/** `text_completion` chunks → canonical events: one text block, usage from the usage chunk. */
export class TextCompletionStreamDecoder {
  private started = false;
  private textOpen = false;
  private finish: StreamEvent | undefined;

  decode(chunk: JsonObject): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (!this.started) {
      this.started = true;
      out.push({ type: 'start', id: asString(chunk.id) ?? '', model: asString(chunk.model) ?? '' });
    }
    const choice = asObject(asArray(chunk.choices)?.[0]);
    const text = asString(choice?.text);
    if (text !== undefined && (text !== '' || !this.textOpen)) {
      this.textOpen = true;
      out.push({ type: 'text', index: 0, text });
    }
    if (choice?.finish_reason !== undefined && choice.finish_reason !== null) this.finish = { type: 'finish', stopReason: openAIStopReason(choice.finish_reason) };
    if (isUsage(chunk.usage)) out.push({ type: 'usage', usage: parseOpenAIUsage(chunk.usage) });
    return out;
  }

  end(): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (this.textOpen) out.push({ type: 'block_stop', index: 0 });
    if (this.finish !== undefined) out.push(this.finish);
    return out;
  }
}

function isUsage(value: unknown): boolean {
  return asObject(value) !== undefined;
}
