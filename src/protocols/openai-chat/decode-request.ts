/**
 * OpenAI chat completions body → canonical request, with a 400 naming the field for anything
 * malformed. Leading system/developer messages become the system prompt; LiteLLM's `cache_control`
 * on content parts is kept (it becomes an Anthropic cache breakpoint).
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart, Message, ReasoningConfig, ResponseFormat, TextPart, ToolChoice, ToolDefinition } from '../../core/request.js';
import {
  describe,
  optionalBoolean,
  optionalNumber,
  optionalString,
  parseCacheControl,
  parseDataUrl,
  requireArray,
  requireObject,
  requireString,
} from '../shared/validate.js';

const KNOWN = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'n',
  'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'reasoning_effort', 'user', 'metadata', 'thinking',
]);

export function decodeOpenAIRequest(body: JsonObject): CanonicalRequest {
  const model = requireString(body.model, 'model');
  const rawMessages = requireArray(body.messages, 'messages');
  if (rawMessages.length === 0) throw invalidRequest('messages: at least one message is required', 'messages');
  const system: TextPart[] = [];
  const messages: Message[] = [];
  rawMessages.forEach((raw, i) => {
    const message = decodeMessage(raw, `messages[${i}]`);
    // System prompts before the first turn are the system prompt; later ones stay in place.
    if (message.role === 'system' && messages.length === 0) system.push(...message.content.filter((p): p is TextPart => p.type === 'text'));
    else messages.push(message);
  });
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) extra[key] = value;
  const stop = body.stop;
  return {
    model,
    system,
    messages,
    stream: optionalBoolean(body.stream, 'stream') ?? false,
    maxTokens:
      optionalNumber(body.max_completion_tokens, 'max_completion_tokens', { integer: true, min: 1 }) ??
      optionalNumber(body.max_tokens, 'max_tokens', { integer: true, min: 1 }),
    temperature: optionalNumber(body.temperature, 'temperature'),
    topP: optionalNumber(body.top_p, 'top_p'),
    stop: stop === undefined || stop === null ? undefined : typeof stop === 'string' ? [stop] : requireArray(stop, 'stop').map((s, i) => requireString(s, `stop[${i}]`)),
    n: optionalNumber(body.n, 'n', { integer: true, min: 1 }),
    tools: body.tools === undefined || body.tools === null ? undefined : requireArray(body.tools, 'tools').map((t, i) => decodeTool(t, `tools[${i}]`)),
    toolChoice: decodeToolChoice(body.tool_choice),
    parallelToolCalls: optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls'),
    responseFormat: decodeResponseFormat(body.response_format),
    reasoning: decodeReasoning(body),
    user: optionalString(body.user, 'user'),
    metadata: body.metadata === undefined || body.metadata === null ? undefined : requireObject(body.metadata, 'metadata'),
    extra,
  };
}

function decodeMessage(value: unknown, path: string): Message {
  const obj = requireObject(value, path);
  const role = obj.role;
  switch (role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: decodeContent(obj.content, `${path}.content`) };
    case 'user':
      return { role: 'user', content: decodeContent(obj.content, `${path}.content`), name: optionalString(obj.name, `${path}.name`) };
    case 'assistant': {
      const content: ContentPart[] = [];
      const reasoning = optionalString(obj.reasoning_content, `${path}.reasoning_content`);
      if (reasoning !== undefined) content.push({ type: 'thinking', text: reasoning });
      if (obj.content !== undefined && obj.content !== null) content.push(...decodeContent(obj.content, `${path}.content`));
      if (obj.tool_calls !== undefined && obj.tool_calls !== null) {
        requireArray(obj.tool_calls, `${path}.tool_calls`).forEach((tc, i) => {
          const call = requireObject(tc, `${path}.tool_calls[${i}]`);
          const fn = requireObject(call.function, `${path}.tool_calls[${i}].function`);
          content.push({
            type: 'tool_call',
            id: requireString(call.id, `${path}.tool_calls[${i}].id`),
            name: requireString(fn.name, `${path}.tool_calls[${i}].function.name`),
            arguments: optionalString(fn.arguments, `${path}.tool_calls[${i}].function.arguments`) ?? '{}',
          });
        });
      }
      return { role: 'assistant', content };
    }
    case 'tool': {
      const parts = decodeContent(obj.content, `${path}.content`);
      const text = parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
      const cacheControl = parts.find((p): p is TextPart => p.type === 'text' && p.cacheControl !== undefined)?.cacheControl;
      return {
        role: 'tool',
        content: [{ type: 'tool_result', toolCallId: requireString(obj.tool_call_id, `${path}.tool_call_id`), content: text, cacheControl }],
      };
    }
    default:
      throw invalidRequest(`${path}.role: expected "system", "developer", "user", "assistant" or "tool", got ${describe(role)}`, `${path}.role`);
  }
}

function decodeContent(value: unknown, path: string): ContentPart[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  if (value === null || value === undefined) return [];
  return requireArray(value, path).map((p, i) => decodePart(p, `${path}[${i}]`));
}

function decodePart(value: unknown, path: string): ContentPart {
  const part = requireObject(value, path);
  const cacheControl = parseCacheControl(part.cache_control, `${path}.cache_control`);
  switch (part.type) {
    case 'text':
      return { type: 'text', text: requireString(part.text, `${path}.text`), cacheControl };
    case 'image_url': {
      const image = part.image_url;
      const url = typeof image === 'string' ? image : requireString(requireObject(image, `${path}.image_url`).url, `${path}.image_url.url`);
      if (url.startsWith('data:')) {
        const data = parseDataUrl(url);
        if (data === undefined) throw invalidRequest(`${path}.image_url.url: a data URL must look like data:<media type>;base64,<data>`, `${path}.image_url.url`);
        return { type: 'image', source: { kind: 'base64', ...data }, cacheControl };
      }
      return { type: 'image', source: { kind: 'url', url }, cacheControl };
    }
    case 'file': {
      const file = requireObject(part.file, `${path}.file`);
      const data = parseDataUrl(requireString(file.file_data, `${path}.file.file_data`));
      if (data === undefined) throw invalidRequest(`${path}.file.file_data: expected a base64 data URL`, `${path}.file.file_data`);
      return { type: 'document', source: { kind: 'base64', ...data }, title: optionalString(file.filename, `${path}.file.filename`), cacheControl };
    }
    default:
      throw invalidRequest(`${path}.type: unsupported content part type ${describe(part.type)}`, `${path}.type`);
  }
}

function decodeTool(value: unknown, path: string): ToolDefinition {
  const tool = requireObject(value, path);
  if (tool.type !== 'function') throw invalidRequest(`${path}.type: only "function" tools are supported, got ${describe(tool.type)}`, `${path}.type`);
  const fn = requireObject(tool.function, `${path}.function`);
  return {
    name: requireString(fn.name, `${path}.function.name`),
    description: optionalString(fn.description, `${path}.function.description`),
    parameters: fn.parameters === undefined ? { type: 'object', properties: {} } : requireObject(fn.parameters, `${path}.function.parameters`),
    cacheControl: parseCacheControl(tool.cache_control, `${path}.cache_control`),
  };
}

function decodeToolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return { type: value };
  const obj = requireObject(value, 'tool_choice');
  const fn = requireObject(obj.function, 'tool_choice.function');
  return { type: 'tool', name: requireString(fn.name, 'tool_choice.function.name') };
}

function decodeResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = requireObject(value, 'response_format');
  if (obj.type === 'text' || obj.type === 'json_object') return { type: obj.type };
  if (obj.type === 'json_schema') {
    const schema = requireObject(obj.json_schema, 'response_format.json_schema');
    return {
      type: 'json_schema',
      name: optionalString(schema.name, 'response_format.json_schema.name') ?? 'response',
      schema: requireObject(schema.schema, 'response_format.json_schema.schema'),
      strict: optionalBoolean(schema.strict, 'response_format.json_schema.strict'),
    };
  }
  throw invalidRequest(`response_format.type: expected "text", "json_object" or "json_schema", got ${describe(obj.type)}`, 'response_format.type');
}

function decodeReasoning(body: JsonObject): ReasoningConfig | undefined {
  const effort = optionalString(body.reasoning_effort, 'reasoning_effort');
  // LiteLLM accepts Anthropic's `thinking` on the OpenAI surface too.
  if (body.thinking !== undefined && body.thinking !== null) {
    const thinking = requireObject(body.thinking, 'thinking');
    if (thinking.type === 'enabled') return { mode: 'enabled', effort, budgetTokens: optionalNumber(thinking.budget_tokens, 'thinking.budget_tokens', { integer: true, min: 1 }) };
    if (thinking.type === 'adaptive') return { mode: 'adaptive', effort };
    if (thinking.type === 'disabled') return { mode: 'disabled', effort };
  }
  return effort === undefined ? undefined : { effort };
}
