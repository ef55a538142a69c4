/**
 * Token estimates with a real BPE tokenizer (o200k, via gpt-tokenizer). Used by the mock model and
 * by count_tokens for providers that have no counting endpoint. An estimate, not any provider's
 * exact count.
 */
import { countTokens } from 'gpt-tokenizer';
import type { CanonicalRequest, ContentPart, ToolDefinition } from '../../core/request.js';

export function estimateTokens(text: string): number {
  return text === '' ? 0 : countTokens(text);
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
