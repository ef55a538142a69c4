// Fake Gemini API (POST /v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse |
// :countTokens, key in `x-goog-api-key`) speaking the real wire format as recorded in
// test/fixtures/providers/gemini: proto3 JSON (zero counts omitted), SSE frames `data: <json>\r\n\r\n`
// (test_google_model_stream.yaml) each carrying the cumulative usageMetadata, the last with finishReason.
//
// Implicit prompt-cache simulation (deterministic; compute expectations with countWords):
//  - Prompt text: systemInstruction parts, then every part of every content — text as is, any other
//    part (functionCall, functionResponse, inlineData …) as JSON — joined with spaces.
//  - promptTokenCount = countWords(prompt text), at least 1.
//  - Prefix = systemInstruction + every content but the last. When its word count is >= cacheMinWords
//    and the same (model, prefix) was seen before by this instance, cachedContentTokenCount = prefix
//    words (it is part of promptTokenCount, as on the real API); otherwise the prefix is remembered.
//  - candidatesTokenCount = countWords(reply text); for a tool reply countWords(`${name} ${JSON args}`).
//  - thoughtsTokenCount = options.thoughts (0 → omitted), reported beside candidates, as Gemini does;
//    with thinkingConfig.includeThoughts a thought part (THOUGHT_TEXT) opens the answer.
//  - totalTokenCount = prompt + candidates + thoughts.
// Validation like the real API: unknown top-level / generationConfig fields and JSON-Schema-only
// keywords in function declarations are 400 INVALID_ARGUMENT; roles must be user/model.
import type { FakeUpstream, CommonFakeOptions, Exchange, Reply, RecordedRequest } from './common.js';
import { countWords, hashOf, header, idFactory, isRecord, loadReplay, replayFrom, runStep, sendJson, serve, StepQueue, wordDeltas } from './common.js';

export interface GeminiFakeOptions extends CommonFakeOptions {
  thoughts?: number;
  cacheMinWords?: number;
  /** Put a thoughtSignature on function calls and on the last text part (Gemini 3 behaviour). */
  signatures?: boolean;
  /** Reject a model turn whose functionCall parts lack a thoughtSignature (Gemini 3's 400). */
  requireSignatures?: boolean;
}

export const GEMINI_FAKE_KEY = 'AIza-fake-gemini';
export const GEMINI_REPLY_TEXT = 'Hello from fake gemini.';
export const GEMINI_THOUGHT_TEXT = 'Considering the question.';
export const GEMINI_CACHE_MIN_WORDS = 1024;
export const GEMINI_SIGNATURE = Buffer.from('fake-thought-signature/+=').toString('base64');

export function fixtureReplayGemini(...files: string[]): { replay: { json?: string; chunks?: string } } {
  return replayFrom(new URL('../fixtures/providers/gemini/', import.meta.url), files);
}

/** Google's error envelope; exported so tests can compare against it. */
export function googleError(code: number, status: string, message: string, details?: unknown[]): { error: Record<string, unknown> } {
  return { error: { code, message, status, ...(details === undefined ? {} : { details }) } };
}

function defaultError(status: number): ReturnType<typeof googleError> {
  if (status === 429) {
    return googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' },
    ]);
  }
  if (status === 503) return googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
  if (status === 500) return googleError(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
  if (status === 403) return googleError(403, 'PERMISSION_DENIED', 'Permission denied.');
  if (status === 404) return googleError(404, 'NOT_FOUND', 'Requested entity was not found.');
  return googleError(status, status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', `Fake error ${status}`);
}

const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent', 'labels']);
const GENERATION = new Set([
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'candidateCount', 'responseMimeType', 'responseSchema',
  'responseJsonSchema', 'thinkingConfig', 'presencePenalty', 'frequencyPenalty', 'seed', 'responseModalities',
]);
const SCHEMA_ONLY_JSON = ['additionalProperties', '$schema', '$ref', '$defs', 'const', 'oneOf', 'allOf'];

function findSchemaProblem(schema: unknown, path: string): string | undefined {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) {
      const problem = findSchemaProblem(item, `${path}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (!isRecord(schema)) return undefined;
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_ONLY_JSON.includes(key)) return `Invalid JSON payload received. Unknown name "${key}" at '${path}': Cannot find field.`;
    if (key === 'type' && Array.isArray(value)) return `Invalid JSON payload received. Proto field is not repeating, cannot start list at '${path}.type'.`;
    const problem = findSchemaProblem(value, `${path}.${key}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function validate(body: Record<string, unknown>, requireSignatures: boolean): string | undefined {
  for (const key of Object.keys(body)) if (!TOP_LEVEL.has(key)) return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  if (!Array.isArray(body.contents) || body.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const [i, content] of body.contents.entries()) {
    if (!isRecord(content) || (content.role !== 'user' && content.role !== 'model')) return `Please use a valid role: user, model. (contents[${i}])`;
    if (!Array.isArray(content.parts) || content.parts.length === 0) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    if (requireSignatures && content.role === 'model') {
      const call = content.parts.find((p) => isRecord(p) && p.functionCall !== undefined);
      if (isRecord(call) && typeof call.thoughtSignature !== 'string') {
        return `Function call is missing a thought_signature in functionCall parts. Position: contents[${i}]`;
      }
    }
  }
  if (isRecord(body.generationConfig)) {
    for (const key of Object.keys(body.generationConfig)) {
      if (!GENERATION.has(key)) return `Invalid JSON payload received. Unknown name "${key}" at 'generation_config': Cannot find field.`;
    }
    const problem = findSchemaProblem(body.generationConfig.responseSchema, 'generation_config.response_schema');
    if (problem !== undefined) return problem;
  }
  return findSchemaProblem(body.tools, 'tools');
}

function partText(part: unknown): string {
  return isRecord(part) && typeof part.text === 'string' ? part.text : JSON.stringify(part);
}

function contentText(content: unknown): string {
  return isRecord(content) && Array.isArray(content.parts) ? content.parts.map(partText).join(' ') : '';
}

/** `{ prompt, cached }` for a request body, updating the cache. */
function promptUsage(model: string, body: Record<string, unknown>, cache: Set<string>, minWords: number): { prompt: number; cached: number } {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  const system = contentText(body.systemInstruction);
  const texts = [system, ...contents.map(contentText)].filter((t) => t !== '');
  const prompt = Math.max(1, countWords(texts.join(' ')));
  const prefix = [system, ...contents.slice(0, -1).map(contentText)].filter((t) => t !== '').join(' ');
  const prefixWords = countWords(prefix);
  if (prefixWords < minWords) return { prompt, cached: 0 };
  const key = hashOf([model, prefix]);
  if (cache.has(key)) return { prompt, cached: prefixWords };
  cache.add(key);
  return { prompt, cached: 0 };
}

export async function startFakeGemini(opts: GeminiFakeOptions = {}): Promise<FakeUpstream> {
  const apiKey = opts.apiKey ?? GEMINI_FAKE_KEY;
  const replyText = opts.replyText ?? GEMINI_REPLY_TEXT;
  const thoughts = opts.thoughts ?? 0;
  const replay = await loadReplay(opts.replay);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const cache = new Set<string>();
  const nextResponseId = idFactory('FakeResp');

  const handler = async (ex: Exchange): Promise<void> => {
    const jsonHeaders = { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer' };
    const sseHeaders = { 'content-type': 'text/event-stream', 'content-disposition': 'attachment', vary: 'Origin, X-Origin, Referer' };
    const fail = (body: ReturnType<typeof googleError>): void => sendJson(ex, Number(body.error.code), JSON.stringify(body), jsonHeaders);

    const [pathname = '', query = ''] = ex.record.path.split('?');
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(pathname);
    if (ex.req.method !== 'POST' || match === null) return fail(googleError(404, 'NOT_FOUND', `Fake: no route for ${ex.req.method ?? ''} ${pathname}`));
    const key = header(ex, 'x-goog-api-key');
    if (key === undefined) {
      return fail(googleError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."));
    }
    if (key !== apiKey) {
      return fail(googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]));
    }
    const [, model = '', method] = match;
    const body = ex.record.json;
    if (!isRecord(body)) return fail(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    if (method === 'countTokens') {
      const inner = isRecord(body.generateContentRequest) ? body.generateContentRequest : body;
      const { prompt } = promptUsage(model, inner, new Set(), Number.POSITIVE_INFINITY);
      return sendJson(ex, 200, JSON.stringify({ totalTokens: prompt, promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }] }), jsonHeaders);
    }
    const stream = method === 'streamGenerateContent';
    if (stream && !new URLSearchParams(query).has('alt')) return fail(googleError(400, 'INVALID_ARGUMENT', 'fake: streamGenerateContent without alt=sse answers a JSON array; use alt=sse'));
    const problem = validate(body, opts.requireSignatures === true);
    if (problem !== undefined) return fail(googleError(400, 'INVALID_ARGUMENT', problem));

    const generation = isRecord(body.generationConfig) ? body.generationConfig : {};
    const includeThoughts = isRecord(generation.thinkingConfig) && generation.thinkingConfig.includeThoughts === true;
    const responseId = nextResponseId();
    const usageFor = (candidates: number, final: boolean): Record<string, unknown> => {
      const { prompt, cached } = final ? promptUsage(model, body, cache, opts.cacheMinWords ?? GEMINI_CACHE_MIN_WORDS) : { prompt: 0, cached: 0 };
      const usage: Record<string, unknown> = { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates + thoughts };
      usage.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
      if (cached > 0) {
        usage.cachedContentTokenCount = cached;
        usage.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: cached }];
      }
      if (thoughts > 0) usage.thoughtsTokenCount = thoughts;
      return usage;
    };
    const chunk = (parts: unknown[], usage: Record<string, unknown>, finish: boolean): Record<string, unknown> => ({
      candidates: [{ content: { parts, role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 }],
      usageMetadata: usage,
      modelVersion: model,
      responseId,
    });
    const sse = (chunks: Record<string, unknown>[]): Reply => ({ kind: 'sse', frames: chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`) });
    const thoughtParts = includeThoughts && thoughts > 0 ? [{ text: GEMINI_THOUGHT_TEXT, thought: true }] : [];
    const signature = opts.signatures === true ? { thoughtSignature: GEMINI_SIGNATURE } : {};

    const ok = (): Reply => {
      if (replay.json !== undefined || replay.chunkLines !== undefined) {
        if (stream && replay.chunkLines) return { kind: 'sse', frames: replay.chunkLines.map((line) => `data: ${line}\r\n\r\n`) };
        if (!stream && replay.json !== undefined) return { kind: 'json', status: 200, text: replay.json };
        return { kind: 'json', status: 500, text: JSON.stringify(googleError(500, 'INTERNAL', 'fake: no replay configured')) };
      }
      const total = countWords(replyText);
      if (!stream) {
        const usage = usageFor(total, true);
        return { kind: 'json', status: 200, text: JSON.stringify(chunk([...thoughtParts, { text: replyText, ...signature }], usage, true)) };
      }
      // Every chunk repeats the usage so far; the prompt is counted (and the cache consulted) once.
      const finalUsage = usageFor(total, true);
      const prompt = finalUsage.promptTokenCount as number;
      let words = 0;
      const chunks = wordDeltas(replyText).map((text, i) => {
        words += countWords(text);
        const parts = i === 0 ? [...thoughtParts, { text }] : [{ text }];
        return chunk(parts, { ...finalUsage, candidatesTokenCount: words, totalTokenCount: prompt + words + thoughts }, false);
      });
      chunks.push(chunk([{ text: '', ...signature }], finalUsage, true));
      return sse(chunks);
    };

    const tool = (name: string, input: object): Reply => {
      const usage = usageFor(countWords(`${name} ${JSON.stringify(input)}`), true);
      const response = chunk([...thoughtParts, { functionCall: { name, args: input }, ...signature }], usage, true);
      return stream ? sse([response]) : { kind: 'json', status: 200, text: JSON.stringify(response) };
    };

    const overloaded = defaultError(503);
    const overloadedInStream = (): Reply => (stream
      ? { kind: 'sse', frames: [`data: ${JSON.stringify(overloaded)}\r\n\r\n`] }
      : { kind: 'json', status: 503, text: JSON.stringify(overloaded) });

    return runStep(ex, steps.next(), {
      stream, ok, tool, overloadedInStream,
      errorBody: defaultError,
      headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
      eventDelayMs: opts.eventDelayMs ?? 0,
    });
  };

  const server = await serve(requests, handler);
  return { url: server.url, requests, script: (s) => steps.push(s), resetCache: () => cache.clear(), close: server.close };
}
