/**
 * Canonical request → Gemini `generateContent` body (the same on the Gemini API and on Vertex AI).
 * System text is hoisted into `systemInstruction`; tool results become `functionResponse` parts of a
 * user turn; consecutive turns of one role are merged, because Gemini wants the function responses
 * of one model turn together in the next user turn.
 */
import { errors } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, ContentPart, MediaSource, Message, ReasoningConfig, TextPart, ToolChoice } from '../../core/request.js';
import { isEmptyObjectSchema, toGeminiSchema } from './schema.js';
import { decodeToolCallId } from './tool-ids.js';

/** LiteLLM's reasoning_effort → thinking budget mapping. */
const EFFORT_BUDGET: Record<string, number> = { none: 0, disable: 0, minimal: 128, low: 1024, medium: 2048, high: 4096 };

export interface GeminiBodyOptions {
  /** The upstream model id: Gemini 3 takes a thinking level rather than a budget for an effort. */
  model: string;
}

export function toGeminiBody(request: CanonicalRequest, options: GeminiBodyOptions): JsonObject {
  const system: TextPart[] = [...request.system];
  const turns: Message[] = [];
  for (const message of request.messages) {
    if (message.role === 'system') system.push(...message.content.filter((p): p is TextPart => p.type === 'text'));
    else turns.push(message);
  }
  const body: JsonObject = { contents: toContents(turns, /^gemini-3/.test(options.model)) };
  const systemText = system.filter((p) => p.text !== '');
  if (systemText.length > 0) body.systemInstruction = { parts: systemText.map((p) => ({ text: p.text })) };
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = [{ functionDeclarations: request.tools.map(toDeclaration) }];
  }
  const toolConfig = convertToolChoice(request.toolChoice);
  if (toolConfig !== undefined) body.toolConfig = { functionCallingConfig: toolConfig };
  const generationConfig = toGenerationConfig(request, options);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return body;
}

function toDeclaration(tool: NonNullable<CanonicalRequest['tools']>[number]): JsonObject {
  const parameters = toGeminiSchema(tool.parameters);
  return {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    // A function without arguments must omit `parameters`: Gemini rejects an OBJECT without properties.
    ...(isEmptyObjectSchema(parameters) ? {} : { parameters }),
  };
}

function convertToolChoice(choice: ToolChoice | undefined): JsonObject | undefined {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case 'auto':
      return { mode: 'AUTO' };
    case 'none':
      return { mode: 'NONE' };
    case 'required':
      return { mode: 'ANY' };
    case 'tool':
      return { mode: 'ANY', allowedFunctionNames: [choice.name] };
  }
}

function toGenerationConfig(request: CanonicalRequest, options: GeminiBodyOptions): JsonObject {
  const config: JsonObject = {};
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.topK !== undefined) config.topK = request.topK;
  if (request.stop !== undefined && request.stop.length > 0) config.stopSequences = request.stop;
  if (request.n !== undefined && request.n > 1) config.candidateCount = request.n;
  const format = request.responseFormat;
  if (format?.type === 'json_object') config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    config.responseSchema = toGeminiSchema(format.schema);
  }
  const thinking = thinkingConfig(request.reasoning, options.model);
  if (thinking !== undefined) config.thinkingConfig = thinking;
  return config;
}

function thinkingConfig(reasoning: ReasoningConfig | undefined, model: string): JsonObject | undefined {
  if (reasoning === undefined) return undefined;
  if (reasoning.mode === 'disabled') return { thinkingBudget: 0 };
  if (reasoning.budgetTokens !== undefined) return { thinkingBudget: reasoning.budgetTokens, includeThoughts: true };
  const effort = reasoning.effort;
  if (effort !== undefined && /^gemini-3/.test(model) && EFFORT_BUDGET[effort] !== 0) {
    return { thinkingLevel: effort === 'low' || effort === 'minimal' ? 'low' : 'high', includeThoughts: true };
  }
  const budget = effort === undefined ? undefined : EFFORT_BUDGET[effort];
  if (budget === 0) return { thinkingBudget: 0 };
  // Adaptive, or enabled without a budget: let the model decide (-1 is Gemini's dynamic thinking).
  return { thinkingBudget: budget ?? -1, includeThoughts: true };
}

function toContents(turns: Message[], gemini3: boolean): JsonObject[] {
  const names = toolNames(turns);
  const out: { role: 'user' | 'model'; parts: JsonObject[] }[] = [];
  for (const message of turns) {
    const role = message.role === 'assistant' ? 'model' : 'user';
    const parts = role === 'model' ? modelParts(message.content, gemini3) : userParts(message.content, names);
    if (parts.length === 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  }
  return out;
}

/** Gemini answers a function call by name; canonical tool results only know the call id. */
function toolNames(turns: Message[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of turns) for (const part of message.content) if (part.type === 'tool_call') names.set(part.id, part.name);
  return names;
}

function userParts(content: ContentPart[], names: Map<string, string>): JsonObject[] {
  const parts: JsonObject[] = [];
  for (const part of content) {
    switch (part.type) {
      case 'text':
        if (part.text !== '') parts.push({ text: part.text });
        break;
      case 'image':
        parts.push(mediaPart(part.source));
        break;
      case 'document':
        parts.push(part.source.kind === 'text' ? { text: part.source.data } : mediaPart(part.source));
        break;
      case 'tool_result': {
        const text = typeof part.content === 'string' ? part.content : part.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
        // Gemini's convention: `output` for a result, `error` for a failure.
        const response = part.isError === true ? { error: text } : { output: text };
        parts.push({ functionResponse: { name: names.get(part.toolCallId) ?? decodeToolCallId(part.toolCallId).id, response } });
        if (typeof part.content !== 'string') for (const p of part.content) if (p.type === 'image') parts.push(mediaPart(p.source));
        break;
      }
      default:
        // Model-side parts in a user turn have no Gemini form.
        break;
    }
  }
  return parts;
}

/**
 * Gemini 3 rejects a function call in history that has no thought signature; for calls another model
 * made (a fallback, a conversation moved between providers) Google documents this bypass value.
 */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

/**
 * A model turn. Thought signatures go back on the part they came with: on thought parts directly, on
 * function calls from the tool-call id, and a signature-only thinking part (how a signature that came
 * on a text part is represented) onto the text part before it.
 */
function modelParts(content: ContentPart[], gemini3: boolean): JsonObject[] {
  const parts: JsonObject[] = [];
  let pending: string | undefined;
  for (const part of content) {
    if (part.type === 'thinking' && part.text === '') {
      if (part.signature === undefined || part.signature === '') continue;
      const previous = parts.at(-1);
      if (previous !== undefined && previous.thoughtSignature === undefined && previous.thought !== true) previous.thoughtSignature = part.signature;
      else pending = part.signature;
      continue;
    }
    const converted = modelPart(part);
    if (converted === undefined) continue;
    if (pending !== undefined && converted.thoughtSignature === undefined) {
      converted.thoughtSignature = pending;
      pending = undefined;
    }
    parts.push(converted);
  }
  if (pending !== undefined) parts.push({ text: '', thoughtSignature: pending });
  if (gemini3) for (const part of parts) if (part.functionCall !== undefined) part.thoughtSignature ??= SKIP_SIGNATURE;
  return parts;
}

function modelPart(part: ContentPart): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      return part.text === '' ? undefined : { text: part.text };
    case 'thinking':
      return { text: part.text, thought: true, ...(part.signature === undefined || part.signature === '' ? {} : { thoughtSignature: part.signature }) };
    case 'tool_call': {
      const { signature } = decodeToolCallId(part.id);
      return { functionCall: { name: part.name, args: parseArguments(part.arguments, part.name) }, ...(signature === undefined ? {} : { thoughtSignature: signature }) };
    }
    default:
      // Redacted thinking is Anthropic's; images and results do not occur in a model turn.
      return undefined;
  }
}

function mediaPart(source: MediaSource): JsonObject {
  if (source.kind === 'base64') return { inlineData: { mimeType: source.mediaType, data: source.data } };
  return { fileData: { mimeType: guessMimeType(source.url), fileUri: source.url } };
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic',
  pdf: 'application/pdf', txt: 'text/plain', mp3: 'audio/mpeg', wav: 'audio/wav', mp4: 'video/mp4',
};

function guessMimeType(url: string): string {
  const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase();
  return (extension === undefined ? undefined : MIME_BY_EXTENSION[extension]) ?? 'application/octet-stream';
}

function parseArguments(text: string, name: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidRequest(`tool call "${name}" has arguments that are not valid JSON; Gemini needs a JSON object`, 'messages');
  }
}
