/**
 * Canonical request → Cohere v2 chat body (`POST /v2/chat`). Cohere's v2 messages are close to
 * OpenAI's (system/user/assistant/tool roles, `tool_calls` with JSON-text arguments); the
 * differences LiteLLM maps (CohereV2ChatConfig.map_openai_params) are mapped here: `top_p` → `p`,
 * `top_k` → `k`, `stop` → `stop_sequences`. Cohere's `tool_choice` knows only REQUIRED and NONE: a
 * named tool becomes REQUIRED with only that tool offered.
 */
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart, ImagePart, Message, TextPart } from '../../core/request.js';

export function toCohereBody(request: CanonicalRequest, model: string): JsonObject {
  const messages: JsonObject[] = [];
  if (request.system.length > 0) messages.push({ role: 'system', content: joinText(request.system) });
  for (const message of request.messages) messages.push(...convertMessage(message));
  const body: JsonObject = { model, messages };
  if (request.stream) body.stream = true;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.p = request.topP;
  if (request.topK !== undefined) body.k = request.topK;
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = request.stop;
  let tools = request.tools ?? [];
  const choice = request.toolChoice;
  if (choice?.type === 'tool') tools = tools.filter((t) => t.name === choice.name);
  if (tools.length > 0 && choice?.type !== 'none') {
    body.tools = tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), parameters: t.parameters },
    }));
    if (choice?.type === 'required' || choice?.type === 'tool') body.tool_choice = 'REQUIRED';
  }
  const format = request.responseFormat;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') body.response_format = { type: 'json_object', json_schema: format.schema };
  const reasoning = request.reasoning;
  if (reasoning?.mode === 'disabled') body.thinking = { type: 'disabled' };
  else if (reasoning?.budgetTokens !== undefined) body.thinking = { type: 'enabled', token_budget: reasoning.budgetTokens };
  for (const key of ['seed', 'frequency_penalty', 'presence_penalty'] as const) {
    const value = request.extra[key];
    if (typeof value === 'number') body[key] = value;
  }
  return body;
}

function convertMessage(message: Message): JsonObject[] {
  if (message.role === 'system') return [{ role: 'system', content: joinText(message.content.filter(isText)) }];
  if (message.role === 'assistant') {
    const text = message.content.filter(isText);
    const calls = message.content.filter((p) => p.type === 'tool_call');
    const out: JsonObject = { role: 'assistant' };
    if (text.length > 0) out.content = joinText(text);
    if (calls.length > 0) out.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return [out];
  }
  // User (and tool) turns: each tool result is its own role "tool" message, the rest one user message.
  const out: JsonObject[] = [];
  const userParts: (TextPart | ImagePart)[] = [];
  for (const part of message.content) {
    if (part.type === 'tool_result') {
      const content = typeof part.content === 'string' ? part.content : joinText(part.content.filter(isText));
      out.push({ role: 'tool', tool_call_id: part.toolCallId, content: content === '' ? ' ' : content });
    } else if (part.type === 'text' || part.type === 'image') userParts.push(part);
    else if (part.type === 'document' && part.source.kind === 'text') userParts.push({ type: 'text', text: part.source.data });
  }
  if (userParts.length > 0) {
    const simple = userParts.length === 1 && userParts.every(isText);
    out.push({ role: 'user', content: simple ? (userParts[0] as TextPart).text : userParts.map(userPart) });
  }
  return out;
}

function userPart(part: TextPart | ImagePart): JsonObject {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const url = part.source.kind === 'url' ? part.source.url : `data:${part.source.mediaType};base64,${part.source.data}`;
  return { type: 'image_url', image_url: { url } };
}

function isText(part: ContentPart): part is TextPart {
  return part.type === 'text';
}

function joinText(parts: TextPart[]): string {
  return parts.map((p) => p.text).join('\n');
}
