/**
 * Responses API body → canonical request, for deployments that do not speak the Responses API
 * (Anthropic, Bedrock, Vertex, chat-completions-only servers). `instructions` and leading
 * system/developer messages become the system prompt; a run of assistant-side items (reasoning,
 * an assistant message, function calls) becomes one assistant turn, as the model produced it;
 * `function_call_output` items become tool results. Function tools translate; hosted and
 * namespaced tools (web_search, file_search, namespace, custom, mcp, …) and item types with no
 * canonical meaning cannot, and are dropped and named in `dropped` for the caller to log.
 */
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart, ImagePart, Message, ReasoningConfig, ResponseFormat, TextPart, ToolChoice, ToolDefinition, ToolResultPart } from '../../core/request.js';
import { describe, optionalBoolean, optionalNumber, optionalString, parseDataUrl, requireArray, requireObject, requireString } from '../shared/validate.js';
import { decodeReasoningItem } from './reasoning-item.js';

const KNOWN = new Set([
  'model', 'input', 'instructions', 'stream', 'max_output_tokens', 'temperature', 'top_p', 'tools', 'tool_choice',
  'parallel_tool_calls', 'reasoning', 'text', 'user', 'metadata', 'store', 'include', 'stream_options', 'prompt_cache_key',
  'previous_response_id', 'truncation', 'service_tier', 'safety_identifier', 'client_metadata', 'background',
]);

export function decodeResponsesRequest(body: JsonObject): CanonicalRequest {
  const model = requireString(body.model, 'model');
  // The translated path keeps no conversation state of its own: a continuation can only be served
  // by the upstream that stored it, so it is refused here rather than answered without its context.
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    throw errors.invalidRequest(
      'previous_response_id: this model is not served by a Responses API deployment, so earlier responses are not stored; send the whole conversation in `input` (store: false)',
      'previous_response_id',
    );
  }
  const dropped = new Set<string>();
  const system: TextPart[] = [];
  const instructions = optionalString(body.instructions, 'instructions');
  if (instructions !== undefined && instructions !== '') system.push({ type: 'text', text: instructions });
  const messages = decodeInput(body.input, system, dropped);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) extra[key] = value;
  const tools = decodeTools(body.tools, dropped);
  return {
    model,
    system,
    messages,
    stream: optionalBoolean(body.stream, 'stream') ?? false,
    maxTokens: optionalNumber(body.max_output_tokens, 'max_output_tokens', { integer: true, min: 1 }),
    temperature: optionalNumber(body.temperature, 'temperature'),
    topP: optionalNumber(body.top_p, 'top_p'),
    tools: tools.length === 0 ? undefined : tools,
    toolChoice: tools.length === 0 ? undefined : decodeToolChoice(body.tool_choice),
    parallelToolCalls: optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls'),
    responseFormat: decodeTextFormat(body.text),
    reasoning: decodeReasoning(body.reasoning),
    user: optionalString(body.user, 'user') ?? optionalString(body.safety_identifier, 'safety_identifier'),
    metadata: body.metadata === undefined || body.metadata === null ? undefined : requireObject(body.metadata, 'metadata'),
    extra,
    dropped: dropped.size === 0 ? undefined : [...dropped],
  };
}

function decodeInput(input: unknown, system: TextPart[], dropped: Set<string>): Message[] {
  if (typeof input === 'string') return [{ role: 'user', content: [{ type: 'text', text: input }] }];
  if (input === undefined || input === null) throw errors.invalidRequest("Missing required parameter: 'input'.", 'input');
  const messages: Message[] = [];
  // Assistant-side items of one turn are gathered here until a user-side item ends the turn.
  let assistant: ContentPart[] | undefined;
  const endTurn = (): void => {
    if (assistant !== undefined && assistant.length > 0) messages.push({ role: 'assistant', content: assistant });
    assistant = undefined;
  };
  const toAssistant = (...parts: ContentPart[]): void => {
    (assistant ??= []).push(...parts);
  };
  requireArray(input, 'input').forEach((value, i) => {
    const path = `input[${i}]`;
    const item = requireObject(value, path);
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = item.role;
        const content = decodeContent(item.content, `${path}.content`);
        if (role === 'assistant') return toAssistant(...content);
        endTurn();
        if (role === 'system' || role === 'developer') {
          // System prompts before the first turn are the system prompt; later ones stay in place.
          if (messages.length === 0) system.push(...content.filter((p): p is TextPart => p.type === 'text'));
          else messages.push({ role: 'system', content });
          return;
        }
        if (role !== 'user') throw errors.invalidRequest(`${path}.role: expected "user", "assistant", "system" or "developer", got ${describe(role)}`, `${path}.role`);
        messages.push({ role: 'user', content });
        return;
      }
      case 'function_call':
        return toAssistant({
          type: 'tool_call',
          id: requireString(item.call_id, `${path}.call_id`),
          name: requireString(item.name, `${path}.name`),
          arguments: optionalString(item.arguments, `${path}.arguments`) ?? '{}',
        });
      case 'reasoning': {
        const part = decodeReasoningItem(item, path);
        if (part !== undefined) toAssistant(part);
        return;
      }
      case 'function_call_output': {
        endTurn();
        const result: ContentPart = { type: 'tool_result', toolCallId: requireString(item.call_id, `${path}.call_id`), content: decodeToolOutput(item.output, `${path}.output`) };
        // Consecutive results answer one assistant turn: they belong in one tool message.
        const last = messages.at(-1);
        if (last?.role === 'tool') last.content.push(result);
        else messages.push({ role: 'tool', content: [result] });
        return;
      }
      default:
        dropped.add(`input item ${typeof type === 'string' ? type : describe(type)}`);
    }
  });
  endTurn();
  if (messages.length === 0) throw errors.invalidRequest('input: at least one message or item the model can read is required', 'input');
  return messages;
}

function decodeContent(value: unknown, path: string): ContentPart[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  return requireArray(value, path).flatMap((p, i) => decodePart(p, `${path}[${i}]`));
}

function decodePart(value: unknown, path: string): ContentPart[] {
  const part = requireObject(value, path);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return [{ type: 'text', text: requireString(part.text, `${path}.text`) }];
    case 'refusal':
      return [{ type: 'text', text: requireString(part.refusal, `${path}.refusal`) }];
    case 'input_image': {
      const url = requireString(part.image_url, `${path}.image_url`);
      if (!url.startsWith('data:')) return [{ type: 'image', source: { kind: 'url', url } }];
      const data = parseDataUrl(url);
      if (data === undefined) throw errors.invalidRequest(`${path}.image_url: a data URL must look like data:<media type>;base64,<data>`, `${path}.image_url`);
      return [{ type: 'image', source: { kind: 'base64', ...data } }];
    }
    case 'input_file': {
      const data = parseDataUrl(requireString(part.file_data, `${path}.file_data`));
      if (data === undefined) throw errors.invalidRequest(`${path}.file_data: expected a base64 data URL`, `${path}.file_data`);
      return [{ type: 'document', source: { kind: 'base64', ...data }, title: optionalString(part.filename, `${path}.filename`) }];
    }
    default:
      throw errors.invalidRequest(`${path}.type: unsupported content part type ${describe(part.type)} for this model`, `${path}.type`);
  }
}

/** A tool's output: a string, or input_text / input_image parts. */
function decodeToolOutput(value: unknown, path: string): ToolResultPart['content'] {
  if (typeof value === 'string') return value;
  return decodeContent(value, path).filter((p): p is TextPart | ImagePart => p.type === 'text' || p.type === 'image');
}

function decodeTools(value: unknown, dropped: Set<string>): ToolDefinition[] {
  if (value === undefined || value === null) return [];
  const tools: ToolDefinition[] = [];
  requireArray(value, 'tools').forEach((t, i) => {
    const path = `tools[${i}]`;
    const tool = requireObject(t, path);
    if (tool.type !== 'function') {
      dropped.add(`tool ${typeof tool.type === 'string' ? tool.type : describe(tool.type)}`);
      return;
    }
    tools.push({
      name: requireString(tool.name, `${path}.name`),
      description: optionalString(tool.description, `${path}.description`),
      parameters: tool.parameters === undefined || tool.parameters === null ? { type: 'object', properties: {} } : requireObject(tool.parameters, `${path}.parameters`),
    });
  });
  return tools;
}

function decodeToolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return { type: value };
  const obj = requireObject(value, 'tool_choice');
  if (obj.type === 'function') return { type: 'tool', name: requireString(obj.name, 'tool_choice.name') };
  // allowed_tools and hosted-tool choices have no canonical form: let the model choose.
  return { type: 'auto' };
}

function decodeTextFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  const format = requireObject(value, 'text').format;
  if (format === undefined || format === null) return undefined;
  const obj = requireObject(format, 'text.format');
  if (obj.type === 'text' || obj.type === 'json_object') return { type: obj.type };
  if (obj.type === 'json_schema') {
    return {
      type: 'json_schema',
      name: optionalString(obj.name, 'text.format.name') ?? 'response',
      schema: requireObject(obj.schema, 'text.format.schema'),
      strict: optionalBoolean(obj.strict, 'text.format.strict'),
    };
  }
  throw errors.invalidRequest(`text.format.type: expected "text", "json_object" or "json_schema", got ${describe(obj.type)}`, 'text.format.type');
}

function decodeReasoning(value: unknown): ReasoningConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const effort = optionalString(requireObject(value, 'reasoning').effort, 'reasoning.effort');
  return effort === undefined ? undefined : { effort };
}
