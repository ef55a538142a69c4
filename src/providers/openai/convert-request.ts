/** Canonical request → OpenAI chat completions body (used when the client speaks another dialect). */
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart, ImagePart, Message, TextPart, ToolChoice } from '../../core/request.js';

export function toOpenAIBody(request: CanonicalRequest, model: string): JsonObject {
  const messages: JsonObject[] = [];
  if (request.system.length > 0) messages.push({ role: 'system', content: joinText(request.system) });
  for (const message of request.messages) messages.push(...convertMessage(message));

  const body: JsonObject = { model, messages };
  if (request.maxTokens !== undefined) body.max_completion_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop !== undefined && request.stop.length > 0) body.stop = request.stop;
  if (request.n !== undefined) body.n = request.n;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), parameters: t.parameters },
    }));
  }
  const toolChoice = convertToolChoice(request.toolChoice);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  if (request.responseFormat !== undefined) {
    body.response_format =
      request.responseFormat.type === 'json_schema'
        ? {
            type: 'json_schema',
            json_schema: { name: request.responseFormat.name, schema: request.responseFormat.schema, strict: request.responseFormat.strict },
          }
        : { type: request.responseFormat.type };
  }
  if (request.reasoning?.effort !== undefined) body.reasoning_effort = request.reasoning.effort;
  if (request.user !== undefined) body.user = request.user;
  if (request.stream) body.stream = true;
  return body;
}

function convertToolChoice(choice: ToolChoice | undefined): unknown {
  if (choice === undefined) return undefined;
  return choice.type === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.type;
}

function convertMessage(message: Message): JsonObject[] {
  if (message.role === 'system') return [{ role: 'system', content: joinText(message.content.filter(isText)) }];
  if (message.role === 'assistant') {
    const text = message.content.filter(isText);
    const calls = message.content.filter((p) => p.type === 'tool_call');
    const out: JsonObject = { role: 'assistant', content: text.length > 0 ? joinText(text) : null };
    if (calls.length > 0) {
      out.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    }
    return [out];
  }
  // User (or tool) turns: tool results become role "tool" messages, the rest one user message.
  const out: JsonObject[] = [];
  const userParts: (TextPart | ImagePart)[] = [];
  for (const part of message.content) {
    if (part.type === 'tool_result') {
      out.push({
        role: 'tool',
        tool_call_id: part.toolCallId,
        content: typeof part.content === 'string' ? part.content : joinText(part.content.filter(isText)),
      });
    } else if (part.type === 'text' || part.type === 'image') userParts.push(part);
    else if (part.type === 'document' && part.source.kind === 'text') userParts.push({ type: 'text', text: part.source.data });
  }
  if (userParts.length > 0) {
    const simple = userParts.every(isText) && userParts.length === 1;
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
