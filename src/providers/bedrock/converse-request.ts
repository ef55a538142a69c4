/**
 * Canonical request → Bedrock Converse body. Converse speaks one shape for every model family:
 * content blocks keyed by kind (`text`, `image`, `document`, `toolUse`, `toolResult`,
 * `reasoningContent`, `cachePoint`), a separate `system` list, `toolConfig` and `inferenceConfig`.
 * A prompt-cache breakpoint is its own `cachePoint` block placed after the content it closes.
 */
import { errors, type GatewayError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CacheControl, CanonicalRequest, ContentPart, DocumentPart, ImagePart, Message, ToolChoice } from '../../core/request.js';
import { isAnthropicModel } from './model-id.js';

/** The TTL of the cache writes a request can cause: what its cache points asked for. */
export type CacheWriteTtl = '5m' | '1h' | 'unknown';

export interface ConverseRequest {
  body: JsonObject;
  /** Bedrock's default TTL is 5 minutes; `unknown` when the request mixes TTLs. */
  cacheWriteTtl: CacheWriteTtl;
}

/** LiteLLM's mapping of OpenAI `reasoning_effort` to a Claude thinking budget (as for Anthropic). */
const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };
const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };
const DOCUMENT_FORMATS: Record<string, string> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
};

class Builder {
  private readonly ttls = new Set<'5m' | '1h'>();
  private readonly documentNames = new Set<string>();

  cachePoint(cacheControl: CacheControl | undefined): JsonObject[] {
    if (cacheControl === undefined) return [];
    this.ttls.add(cacheControl.ttl ?? '5m');
    return [{ cachePoint: cacheControl.ttl === undefined ? { type: 'default' } : { type: 'default', ttl: cacheControl.ttl } }];
  }

  get cacheWriteTtl(): CacheWriteTtl {
    if (this.ttls.size > 1) return 'unknown';
    return this.ttls.has('1h') ? '1h' : '5m';
  }

  blocks(part: ContentPart): JsonObject[] {
    switch (part.type) {
      case 'text':
        // Converse rejects blank text blocks; an empty part carries nothing.
        return part.text === '' ? this.cachePoint(part.cacheControl) : [{ text: part.text }, ...this.cachePoint(part.cacheControl)];
      case 'image':
        return [{ image: imageBlock(part) }, ...this.cachePoint(part.cacheControl)];
      case 'document':
        return [{ document: this.documentBlock(part) }, ...this.cachePoint(part.cacheControl)];
      case 'tool_call':
        return [{ toolUse: { toolUseId: part.id, name: part.name, input: parseArguments(part.arguments, part.name) } }, ...this.cachePoint(part.cacheControl)];
      case 'tool_result': {
        const content =
          typeof part.content === 'string'
            ? [{ text: part.content }]
            : part.content.map((p) => (p.type === 'text' ? { text: p.text } : { image: imageBlock(p) }));
        const result: JsonObject = { toolUseId: part.toolCallId, content };
        if (part.isError === true) result.status = 'error';
        return [{ toolResult: result }, ...this.cachePoint(part.cacheControl)];
      }
      case 'thinking': {
        const reasoningText: JsonObject = { text: part.text };
        if (part.signature !== undefined && part.signature !== '') reasoningText.signature = part.signature;
        return [{ reasoningContent: { reasoningText } }];
      }
      case 'redacted_thinking':
        return [{ reasoningContent: { redactedContent: part.data } }];
    }
  }

  private documentBlock(part: DocumentPart): JsonObject {
    // Names allow letters, digits, single spaces, hyphens, parentheses and brackets, and must be unique.
    const base = (part.title ?? '').replace(/[^A-Za-z0-9\s\-()[\]]/g, ' ').replace(/\s+/g, ' ').trim() || 'document';
    let name = base;
    for (let n = 2; this.documentNames.has(name); n++) name = `${base}-${n}`;
    this.documentNames.add(name);
    const source = part.source;
    if (source.kind === 'url') {
      if (!source.url.startsWith('s3://')) throw unsupported('messages', 'Bedrock Converse takes documents as base64 data or s3:// locations, not URLs');
      return { format: documentFormat(source.url), name, source: { s3Location: { uri: source.url } } };
    }
    const bytes = source.kind === 'text' ? Buffer.from(source.data, 'utf8').toString('base64') : source.data;
    return { format: DOCUMENT_FORMATS[source.mediaType] ?? (source.kind === 'text' ? 'txt' : 'pdf'), name, source: { bytes } };
  }
}

function documentFormat(uri: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(uri)?.[1]?.toLowerCase();
  return extension !== undefined && Object.values(DOCUMENT_FORMATS).includes(extension) ? extension : 'pdf';
}

function imageBlock(part: ImagePart): JsonObject {
  const source = part.source;
  if (source.kind === 'base64') return { format: IMAGE_FORMATS[source.mediaType] ?? 'png', source: { bytes: source.data } };
  const dataUrl = /^data:([^;,]+);base64,(.*)$/s.exec(source.url);
  if (dataUrl !== null) return { format: IMAGE_FORMATS[dataUrl[1] ?? ''] ?? 'png', source: { bytes: dataUrl[2] ?? '' } };
  if (source.url.startsWith('s3://')) {
    const extension = /\.([a-z]+)$/i.exec(source.url)?.[1]?.toLowerCase();
    return { format: extension === 'jpg' ? 'jpeg' : (extension ?? 'png'), source: { s3Location: { uri: source.url } } };
  }
  throw unsupported('messages', 'Bedrock Converse takes images as base64 data or s3:// locations, not http(s) URLs');
}

function unsupported(param: string, message: string): GatewayError {
  return errors.unsupportedParameter(message, param);
}

function parseArguments(text: string, name: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidRequest(`tool call "${name}" has arguments that are not valid JSON; Bedrock needs a JSON object`, 'messages');
  }
}

function toolChoice(choice: ToolChoice | undefined): JsonObject | undefined {
  switch (choice?.type) {
    case 'auto':
      return { auto: {} };
    case 'required':
      return { any: {} };
    case 'tool':
      return { tool: { name: choice.name } };
    // Converse has no "none": the tools stay (earlier turns may use them) and the model decides.
    case 'none':
    case undefined:
      return undefined;
  }
}

/** Tool results are user turns; consecutive turns of one role are merged (Converse needs alternation). */
function turns(messages: Message[], builder: Builder): JsonObject[] {
  const out: { role: 'user' | 'assistant'; content: JsonObject[] }[] = [];
  for (const message of messages) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = message.content.flatMap((part) => builder.blocks(part));
    if (blocks.length === 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

export function toConverseBody(request: CanonicalRequest, modelId: string, defaultMaxTokens?: number): ConverseRequest {
  if (request.n !== undefined && request.n > 1) {
    throw unsupported('n', `n=${request.n} is not supported by Bedrock Converse: it returns one choice per request`);
  }
  const builder = new Builder();
  const system: JsonObject[] = request.system.flatMap((part) => builder.blocks(part));
  const conversation: Message[] = [];
  for (const message of request.messages) {
    // Converse has no system role inside messages; the instructions join the system list.
    if (message.role === 'system') system.push(...message.content.flatMap((part) => (part.type === 'text' ? builder.blocks(part) : [])));
    else conversation.push(message);
  }
  const body: JsonObject = { messages: turns(conversation, builder) };
  if (system.length > 0) body.system = system;

  const claude = isAnthropicModel(modelId);
  const additional: JsonObject = {};
  let maxTokens = request.maxTokens ?? defaultMaxTokens;
  if (claude && request.reasoning !== undefined && request.reasoning.mode !== 'disabled') {
    const budget = request.reasoning.budgetTokens ?? (request.reasoning.effort !== undefined ? EFFORT_BUDGET[request.reasoning.effort] : undefined);
    if (request.reasoning.mode === 'adaptive') additional.thinking = { type: 'adaptive' };
    else if (budget !== undefined) {
      additional.thinking = { type: 'enabled', budget_tokens: budget };
      // Claude needs room for the answer beyond the thinking budget.
      if (maxTokens === undefined || maxTokens <= budget) maxTokens = budget + (request.maxTokens ?? 4096);
    }
  }
  if (claude && request.topK !== undefined) additional.top_k = request.topK;

  const inference: JsonObject = {};
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  if (request.temperature !== undefined) inference.temperature = request.temperature;
  if (request.topP !== undefined) inference.topP = request.topP;
  if (request.stop !== undefined && request.stop.length > 0) inference.stopSequences = request.stop;
  body.inferenceConfig = inference;

  if (request.tools !== undefined && request.tools.length > 0) {
    const tools: JsonObject[] = request.tools.flatMap((tool) => [
      { toolSpec: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), inputSchema: { json: tool.parameters } } },
      ...builder.cachePoint(tool.cacheControl),
    ]);
    const choice = toolChoice(request.toolChoice);
    body.toolConfig = choice === undefined ? { tools } : { tools, toolChoice: choice };
  }
  if (request.responseFormat?.type === 'json_schema') {
    const { name, schema } = request.responseFormat;
    body.outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema: { name, schema: JSON.stringify(schema) } } } };
  }
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;
  return { body, cacheWriteTtl: builder.cacheWriteTtl };
}
