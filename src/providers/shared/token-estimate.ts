/**
 * Token estimates with a real BPE tokenizer (o200k, via gpt-tokenizer). Used by the mock model and
 * by count_tokens for providers that have no counting endpoint. An estimate, not any provider's
 * exact count.
 */
import type { CanonicalRequest, ContentPart, ToolDefinition } from '../../core/request.js';

let countTokens: ((text: string) => number) | undefined;
let loading: Promise<void> | undefined;

/**
 * Load the tokenizer on first need. Its o200k ranks cost ~70 MB of RSS, which a gateway that only
 * passes calls through (most of them) should not carry; the mock model and count_tokens await this
 * once before counting.
 */
export function tokenizerReady(): Promise<void> {
  if (countTokens !== undefined) return Promise.resolve();
  return (loading ??= import('gpt-tokenizer').then((m) => {
    countTokens = m.countTokens;
  }));
}

export function estimateTokens(text: string): number {
  if (text === '') return 0;
  if (countTokens === undefined) throw new Error('estimateTokens before tokenizerReady() resolved');
  return countTokens(text);
}

/** The text a part contributes to the prompt, in the form the estimate counts. */
export function partText(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'thinking':
      return part.text;
    case 'redacted_thinking':
      return '';
    case 'tool_call':
      return `${part.name} ${part.arguments}`;
    case 'tool_result':
      return typeof part.content === 'string' ? part.content : part.content.map(partText).join('\n');
    case 'image':
      return ' [image] ';
    case 'document':
      return part.source.kind === 'text' ? part.source.data : ' [document] ';
  }
}

export function toolText(tool: ToolDefinition): string {
  return `${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`;
}

/** Every token of the prompt: tools, system, messages. */
export function estimateRequestTokens(request: CanonicalRequest): number {
  let total = 0;
  for (const tool of request.tools ?? []) total += estimateTokens(toolText(tool));
  for (const part of request.system) total += estimateTokens(part.text);
  for (const message of request.messages) for (const part of message.content) total += estimateTokens(partText(part));
  return total;
}
