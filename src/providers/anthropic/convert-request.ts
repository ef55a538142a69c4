/** Canonical request → Anthropic Messages body (used when the client speaks another dialect). */
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CacheControl, CanonicalRequest, ContentPart, MediaSource, Message, ToolChoice } from '../../core/request.js';

/** LiteLLM's mapping of OpenAI `reasoning_effort` to a thinking budget. */
const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };
const DEFAULT_MAX_TOKENS = 4096;

export function toAnthropicBody(request: CanonicalRequest, model: string, defaultMaxTokens?: number): JsonObject {
  if (request.n !== undefined && request.n > 1) {
    throw errors.unsupportedParameter(`n=${request.n} is not supported by Anthropic models: they return one choice per request`, 'n');
  }
  const system = [...request.system];
  const turns: Message[] = [];
  for (const message of request.messages) {
    // Anthropic has no system role inside messages for translated clients; LiteLLM hoists them too.
    if (message.role === 'system') {
      for (const part of message.content) if (part.type === 'text') system.push(part);
    } else turns.push(message);
  }

  const body: JsonObject = { model, messages: mergeTurns(turns) };
  if (system.length > 0) body.system = system.map((p) => withCache({ type: 'text', text: p.text }, p.cacheControl));
  const thinkingBudget = request.reasoning?.budgetTokens ?? (request.reasoning?.effort !== undefined ? EFFORT_BUDGET[request.reasoning.effort] : undefined);
  let maxTokens = request.maxTokens ?? defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
  if (request.reasoning?.mode === 'adaptive') body.thinking = { type: 'adaptive' };
  else if (thinkingBudget !== undefined && request.reasoning?.mode !== 'disabled') {
    body.thinking = { type: 'enabled', budget_tokens: thinkingBudget };
    if (maxTokens <= thinkingBudget) maxTokens = thinkingBudget + (request.maxTokens ?? DEFAULT_MAX_TOKENS);
  }
  body.max_tokens = maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.topK !== undefined) body.top_k = request.topK;
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((t) =>
      withCache({ name: t.name, description: t.description, input_schema: t.parameters }, t.cacheControl),
    );
  }
  const toolChoice = convertToolChoice(request.toolChoice, request.parallelToolCalls);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (request.responseFormat?.type === 'json_schema') {
    body.output_config = { format: { type: 'json_schema', schema: request.responseFormat.schema } };
  }
  if (request.user !== undefined) body.metadata = { user_id: request.user };
  if (request.stream) body.stream = true;
  return body;
}

function convertToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): JsonObject | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {};
  switch (choice?.type) {
    case undefined:
      return parallel === false ? { type: 'auto', ...disable } : undefined;
    case 'auto':
      return { type: 'auto', ...disable };
    case 'required':
      return { type: 'any', ...disable };
    case 'none':
      return { type: 'none' };
    case 'tool':
      return { type: 'tool', name: choice.name, ...disable };
  }
}

/** Tool results become user turns; consecutive turns of one role are merged into one. */
function mergeTurns(messages: Message[]): JsonObject[] {
  const out: { role: 'user' | 'assistant'; content: JsonObject[] }[] = [];
  for (const message of messages) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = message.content.map(toBlock).filter((b): b is JsonObject => b !== undefined);
    if (blocks.length === 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

function toBlock(part: ContentPart): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      return part.text === '' ? undefined : withCache({ type: 'text', text: part.text }, part.cacheControl);
    case 'image':
      return withCache({ type: 'image', source: mediaSource(part.source) }, part.cacheControl);
    case 'document':
      return withCache(
        { type: 'document', source: part.source.kind === 'text' ? { type: 'text', media_type: part.source.mediaType, data: part.source.data } : mediaSource(part.source), title: part.title },
        part.cacheControl,
      );
    case 'tool_call':
      return withCache({ type: 'tool_use', id: part.id, name: part.name, input: parseArguments(part.arguments, part.name) }, part.cacheControl);
    case 'tool_result':
      return withCache(
        {
          type: 'tool_result',
          tool_use_id: part.toolCallId,
          content: typeof part.content === 'string' ? part.content : part.content.map(toBlock).filter((b) => b !== undefined),
          ...(part.isError === true ? { is_error: true } : {}),
        },
        part.cacheControl,
      );
    case 'thinking':
      return { type: 'thinking', thinking: part.text, signature: part.signature ?? '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: part.data };
  }
}

function mediaSource(source: MediaSource): JsonObject {
  return source.kind === 'url'
    ? { type: 'url', url: source.url }
    : { type: 'base64', media_type: source.mediaType, data: source.data };
}

function parseArguments(text: string, name: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidRequest(`tool call "${name}" has arguments that are not valid JSON; Anthropic needs a JSON object`, 'messages');
  }
}

function withCache(block: JsonObject, cacheControl: CacheControl | undefined): JsonObject {
  for (const key of Object.keys(block)) if (block[key] === undefined) delete block[key];
  if (cacheControl !== undefined) block.cache_control = cacheControl.ttl === undefined ? { type: 'ephemeral' } : { type: 'ephemeral', ttl: cacheControl.ttl };
  return block;
}
