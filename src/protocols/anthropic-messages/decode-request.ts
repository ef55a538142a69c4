/**
 * Anthropic Messages request body → canonical request, with a 400 naming the field for anything
 * malformed. Only used when the upstream speaks another dialect (or is the mock): same-dialect
 * requests are passed through and validated by the upstream itself.
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type {
  CanonicalRequest,
  ContentPart,
  ImagePart,
  MediaSource,
  Message,
  ReasoningConfig,
  TextPart,
  ToolChoice,
  ToolDefinition,
} from '../../core/request.js';
import {
  optionalBoolean,
  optionalNumber,
  optionalString,
  parseCacheControl,
  requireArray,
  requireObject,
  requireString,
  describe,
} from '../shared/validate.js';

/** Fields decoded into canonical slots; everything else is kept in `extra`. */
const KNOWN = new Set([
  'model', 'messages', 'system', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream',
  'tools', 'tool_choice', 'thinking', 'metadata', 'output_config',
]);

export function decodeAnthropicRequest(body: JsonObject): CanonicalRequest {
  const model = requireString(body.model, 'model');
  const maxTokens = optionalNumber(body.max_tokens, 'max_tokens', { integer: true, min: 1 });
  const messages = requireArray(body.messages, 'messages').map((m, i) => decodeMessage(m, `messages.${i}`));
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) extra[key] = value;
  const metadata = body.metadata === undefined ? undefined : requireObject(body.metadata, 'metadata');
  const toolChoice = decodeToolChoice(body.tool_choice);
  return {
    model,
    system: decodeSystem(body.system),
    messages,
    stream: optionalBoolean(body.stream, 'stream') ?? false,
    maxTokens,
    temperature: optionalNumber(body.temperature, 'temperature'),
    topP: optionalNumber(body.top_p, 'top_p'),
    topK: optionalNumber(body.top_k, 'top_k', { integer: true }),
    stop: body.stop_sequences === undefined ? undefined : requireArray(body.stop_sequences, 'stop_sequences').map((s, i) => requireString(s, `stop_sequences.${i}`)),
    tools: body.tools === undefined ? undefined : requireArray(body.tools, 'tools').map((t, i) => decodeTool(t, `tools.${i}`)),
    toolChoice: toolChoice?.choice,
    parallelToolCalls: toolChoice?.parallel,
    reasoning: decodeThinking(body.thinking, body.output_config),
    user: optionalString(metadata?.user_id, 'metadata.user_id'),
    metadata,
    extra,
  };
}

function decodeSystem(value: unknown): TextPart[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [{ type: 'text', text: value }];
  return requireArray(value, 'system').map((block, i) => {
    const obj = requireObject(block, `system.${i}`);
    if (obj.type !== 'text') throw invalidRequest(`system.${i}.type: system blocks must be "text", got ${describe(obj.type)}`, `system.${i}.type`);
    return { type: 'text', text: requireString(obj.text, `system.${i}.text`), cacheControl: parseCacheControl(obj.cache_control, `system.${i}.cache_control`) };
  });
}

function decodeMessage(value: unknown, path: string): Message {
  const obj = requireObject(value, path);
  const role = obj.role;
  if (role !== 'user' && role !== 'assistant' && role !== 'system') {
    throw invalidRequest(`${path}.role: expected "user", "assistant" or "system", got ${describe(role)}`, `${path}.role`);
  }
  if (typeof obj.content === 'string') return { role, content: [{ type: 'text', text: obj.content }] };
  const content = requireArray(obj.content, `${path}.content`).map((b, i) => decodeBlock(b, `${path}.content.${i}`));
  return { role, content };
}

function decodeBlock(value: unknown, path: string): ContentPart {
  const block = requireObject(value, path);
  const cacheControl = parseCacheControl(block.cache_control, `${path}.cache_control`);
  switch (block.type) {
    case 'text':
      return { type: 'text', text: requireString(block.text, `${path}.text`), cacheControl };
    case 'image':
      return { type: 'image', source: decodeSource(block.source, `${path}.source`), cacheControl };
    case 'document': {
      const source = requireObject(block.source, `${path}.source`);
      const title = optionalString(block.title, `${path}.title`);
      if (source.type === 'text') {
        return { type: 'document', source: { kind: 'text', mediaType: optionalString(source.media_type, `${path}.source.media_type`) ?? 'text/plain', data: requireString(source.data, `${path}.source.data`) }, title, cacheControl };
      }
      return { type: 'document', source: decodeSource(source, `${path}.source`), title, cacheControl };
    }
    case 'tool_use':
      return {
        type: 'tool_call',
        id: requireString(block.id, `${path}.id`),
        name: requireString(block.name, `${path}.name`),
        arguments: JSON.stringify(block.input ?? {}),
        cacheControl,
      };
    case 'tool_result':
      return {
        type: 'tool_result',
        toolCallId: requireString(block.tool_use_id, `${path}.tool_use_id`),
        content: decodeToolResultContent(block.content, `${path}.content`),
        isError: optionalBoolean(block.is_error, `${path}.is_error`),
        cacheControl,
      };
    case 'thinking':
      return { type: 'thinking', text: requireString(block.thinking, `${path}.thinking`), signature: optionalString(block.signature, `${path}.signature`) };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: requireString(block.data, `${path}.data`) };
    default:
      throw invalidRequest(`${path}.type: unsupported content block type ${describe(block.type)} for this model`, `${path}.type`);
  }
}

function decodeToolResultContent(value: unknown, path: string): string | (TextPart | ImagePart)[] {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return requireArray(value, path).map((b, i) => {
    const part = decodeBlock(b, `${path}.${i}`);
    if (part.type !== 'text' && part.type !== 'image') throw invalidRequest(`${path}.${i}.type: tool results hold text and images only`, `${path}.${i}.type`);
    return part;
  });
}

function decodeSource(value: unknown, path: string): MediaSource {
  const source = requireObject(value, path);
  if (source.type === 'base64') {
    return { kind: 'base64', mediaType: requireString(source.media_type, `${path}.media_type`), data: requireString(source.data, `${path}.data`) };
  }
  if (source.type === 'url') return { kind: 'url', url: requireString(source.url, `${path}.url`) };
  throw invalidRequest(`${path}.type: expected "base64" or "url", got ${describe(source.type)}`, `${path}.type`);
}

function decodeTool(value: unknown, path: string): ToolDefinition {
  const tool = requireObject(value, path);
  return {
    name: requireString(tool.name, `${path}.name`),
    description: optionalString(tool.description, `${path}.description`),
    parameters: tool.input_schema === undefined ? { type: 'object', properties: {} } : requireObject(tool.input_schema, `${path}.input_schema`),
    cacheControl: parseCacheControl(tool.cache_control, `${path}.cache_control`),
  };
}

function decodeToolChoice(value: unknown): { choice: ToolChoice; parallel: boolean | undefined } | undefined {
  if (value === undefined || value === null) return undefined;
  const obj = requireObject(value, 'tool_choice');
  const parallel = obj.disable_parallel_tool_use === true ? false : undefined;
  switch (obj.type) {
    case 'auto':
      return { choice: { type: 'auto' }, parallel };
    case 'any':
      return { choice: { type: 'required' }, parallel };
    case 'none':
      return { choice: { type: 'none' }, parallel };
    case 'tool':
      return { choice: { type: 'tool', name: requireString(obj.name, 'tool_choice.name') }, parallel };
    default:
      throw invalidRequest(`tool_choice.type: expected "auto", "any", "tool" or "none", got ${describe(obj.type)}`, 'tool_choice.type');
  }
}

function decodeThinking(thinking: unknown, outputConfig: unknown): ReasoningConfig | undefined {
  const effort = outputConfig === undefined ? undefined : optionalString(requireObject(outputConfig, 'output_config').effort, 'output_config.effort');
  if (thinking === undefined || thinking === null) return effort === undefined ? undefined : { effort };
  const obj = requireObject(thinking, 'thinking');
  if (obj.type === 'enabled') {
    return { mode: 'enabled', budgetTokens: optionalNumber(obj.budget_tokens, 'thinking.budget_tokens', { integer: true, min: 1 }), effort };
  }
  if (obj.type === 'adaptive') return { mode: 'adaptive', effort };
  if (obj.type === 'disabled') return { mode: 'disabled', effort };
  throw invalidRequest(`thinking.type: expected "enabled", "adaptive" or "disabled", got ${describe(obj.type)}`, 'thinking.type');
}
