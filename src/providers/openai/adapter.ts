/**
 * OpenAI chat completions provider: api.openai.com and every OpenAI-compatible server (vLLM,
 * Ollama, Groq, Together, …) through `api_base`. Same-dialect requests pass through untouched
 * except for the model and, for streams, `stream_options.include_usage` (metering needs it; the
 * usage chunk is dropped again if the client did not ask for it).
 */
import { errors } from '../../core/errors.js';
import { asObject, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { deploymentHeaders, joinUrl, postUpstream, readBody, type UpstreamResponse } from '../shared/upstream-http.js';
import { prependMember, replaceFirstString, replaceModel, rewriteTopLevel } from '../shared/body-rewrite.js';
import { decodeResponseId, encodeResponseId } from '../../core/response-id.js';
import { bytesThrough, formPayload, isJsonAnswer, jsonPayload } from '../shared/endpoint-body.js';
import { parseJsonBody } from '../shared/json-body.js';
import { scanAnswer, scanTailUsage } from '../shared/json-scan.js';
import { sseEvents } from '../shared/sse-stream.js';
import { tapSseStream } from '../shared/stream-tap.js';
import type { Dialect, PassthroughOptions, PassthroughResponse, ProviderAdapter, StoredResponseAnswer, StoredResponseRequest, StreamTap, UpstreamCall } from '../types.js';
import type { Usage } from '../../core/usage.js';
import { toOpenAIBody } from './convert-request.js';
import { ENDPOINT_OF, ENDPOINT_PATHS, meterAnswer, OPENAI_ENDPOINT_DIALECTS, RERANK_SERVERS, type OpenAIEndpoint } from './endpoints.js';
import { OpenAIStreamDecoder, parseOpenAICompletion, parseOpenAIError } from './parse-response.js';
import { ResponsesTapInspector } from './responses-tap.js';
import { parseResponsesUsage } from './responses-usage.js';
import { OpenAITapInspector } from './tap.js';
import { parseOpenAIUsage } from './usage.js';

export interface OpenAIAdapterOptions {
  name: string;
  defaultBase?: string | undefined;
  /**
   * The upstream serves the Responses API (`/responses`) too: OpenAI itself and Azure. Other
   * OpenAI-compatible servers speak chat completions only, and a Responses client is translated.
   */
  responses?: boolean | undefined;
  /** The dialects it takes, when not the default for its kind (Azure: no moderations). */
  dialects?: readonly Dialect[] | undefined;
}

export type { OpenAIEndpoint } from './endpoints.js';

/** Below `/responses`: a stored response (`/{id}`, `/{id}/input_items`), the query, and the method. */
export interface ResponsesResource {
  suffix?: string | undefined;
  query?: string | undefined;
  method?: 'GET' | 'DELETE' | 'POST' | undefined;
  /** The body's own content type (a multipart form's, with its boundary); JSON unless said. */
  contentType?: string | undefined;
}

export class OpenAIAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialects: readonly Dialect[];
  private readonly defaultBase: string | undefined;

  constructor(options: OpenAIAdapterOptions = { name: 'openai', defaultBase: 'https://api.openai.com/v1', responses: true }) {
    this.name = options.name;
    this.defaultBase = options.defaultBase;
    // Every OpenAI-shaped server takes /embeddings (vLLM, Ollama, Together, …) and is asked for
    // OpenAI's other endpoints as OpenAI would be; the Responses API only OpenAI's own; Cohere-shaped
    // /rerank the servers that serve it.
    this.dialects = options.dialects ?? [
      'openai-chat',
      ...(options.responses === true ? (['openai-responses', 'openai-responses-compact'] as const) : []),
      'openai-embeddings',
      ...OPENAI_ENDPOINT_DIALECTS,
      ...(RERANK_SERVERS.has(options.name) ? (['rerank'] as const) : []),
    ];
  }

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const body = toOpenAIBody({ ...request, stream: false }, call.upstreamModel);
    const { response, url } = await this.post(call, JSON.stringify(body), false);
    return parseOpenAICompletion(parseJsonBody(await readBody(response.body, this.name, url), 'Upstream'));
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const body = { ...toOpenAIBody({ ...request, stream: true }, call.upstreamModel), stream_options: { include_usage: true } };
    const { response, url } = await this.post(call, JSON.stringify(body), true);
    return decodeStream(response.body, this.name, url);
  }

  async passthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions): Promise<PassthroughResponse> {
    if (options.dialect === 'openai-responses') return this.responsesPassthrough(body, call, options);
    // A compaction is not a stored response: its id stays the upstream's.
    if (options.dialect === 'openai-responses-compact') return this.responsesPassthrough(body, call, { ...options, stream: false }, '/compact');
    if (options.dialect === 'openai-embeddings') return this.embeddingsPassthrough(body, call, options.rawBody);
    const endpoint = options.dialect === undefined ? undefined : ENDPOINT_OF[options.dialect];
    if (endpoint !== undefined) return this.endpointPassthrough(endpoint, body, call, options.rawBody);
    const streamOptions = asObject(body.stream_options);
    const needsUsage = options.stream && streamOptions?.include_usage !== true;
    const payload = passthroughPayload(body, call.upstreamModel, needsUsage, options.rawBody, call.deployment.defaultMaxTokens);
    const { response, url } = await this.post(call, payload, options.stream);
    const headers = this.forwardedHeaders(response.headers);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      const bytes = await readBody(response.body, this.name, url);
      // Forwarded as it is: `usage` (near the end) and `model` are read from the bytes when they can be.
      const scanned = scanAnswer(bytes);
      if (scanned !== undefined) return { kind: 'json', status: response.status, headers, body: bytes, usage: parseOpenAIUsage(scanned.usage), model: scanned.model };
      const completion = parseJsonBody(bytes, 'Upstream');
      return {
        kind: 'json',
        status: response.status,
        headers,
        body: bytes,
        usage: parseOpenAIUsage(completion.usage),
        model: typeof completion.model === 'string' ? completion.model : undefined,
      };
    }
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const inspector = this.tapInspector(!needsUsage, options.annotateFinalUsage);
    return { kind: 'stream', status: response.status, headers, tap, chunks: tapSseStream(response.body, inspector, tap, this.name, url) };
  }

  /**
   * A Responses API body, forwarded with only `model` rewritten (and a managed
   * `previous_response_id` turned back into the upstream's own) to the upstream's `/responses`, in
   * the client's bytes when they can be edited. The answer's response id is swapped for the managed
   * one that names this deployment (core/response-id.ts); usage is read from the answer's `usage` or
   * the stream's terminal event.
   */
  private async responsesPassthrough(body: JsonObject, call: UpstreamCall, options: PassthroughOptions, suffix?: '/compact'): Promise<PassthroughResponse> {
    const previous = typeof body.previous_response_id === 'string' ? decodeResponseId(body.previous_response_id).responseId : undefined;
    const after = { ...body, model: call.upstreamModel, ...(previous === undefined ? {} : { previous_response_id: previous }) };
    const unchanged = body.model === call.upstreamModel && previous === body.previous_response_id;
    const raw = options.rawBody;
    let edited: Buffer | undefined;
    if (raw === undefined || unchanged) edited = raw;
    else if (previous === body.previous_response_id && typeof body.model === 'string') edited = replaceModel(raw, body.model, call.upstreamModel);
    else edited = rewriteTopLevel(raw, body, after);
    const { response, url } = await this.post(call, edited ?? JSON.stringify(after), options.stream, 'responses', { suffix });
    const headers = this.forwardedHeaders(response.headers);
    const manage = (id: string): string => (suffix === undefined ? encodeResponseId(call.deployment.provider, call.deployment.id, id) : id);
    if (!options.stream || !response.headers['content-type']?.includes('text/event-stream')) {
      const bytes = await readBody(response.body, this.name, url);
      const answer = parseJsonBody(bytes, 'Upstream');
      const usage = parseResponsesUsage(answer.usage);
      const model = typeof answer.model === 'string' ? answer.model : undefined;
      return { kind: 'json', status: response.status, headers, body: typeof answer.id === 'string' ? replaceFirstString(bytes, answer.id, manage(answer.id)) : bytes, usage, model };
    }
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const inspector = new ResponsesTapInspector(options.annotateFinalUsage, manage);
    return { kind: 'stream', status: response.status, headers, tap, chunks: tapSseStream(response.body, inspector, tap, this.name, url) };
  }

  /** An embeddings body to the upstream's `/embeddings`, model rewritten; the vectors come back as the upstream's bytes. */
  private async embeddingsPassthrough(body: JsonObject, call: UpstreamCall, raw: Buffer | undefined): Promise<PassthroughResponse> {
    const edited = raw !== undefined && typeof body.model === 'string' ? (body.model === call.upstreamModel ? raw : replaceModel(raw, body.model, call.upstreamModel)) : undefined;
    const { response, url } = await this.post(call, edited ?? JSON.stringify({ ...body, model: call.upstreamModel }), false, 'embeddings');
    const bytes = await readBody(response.body, this.name, url);
    // `usage` closes the answer, after vectors that can run to megabytes: read from the tail, not parsed whole.
    const usage = scanTailUsage(bytes) ?? parseJsonBody(bytes, 'Upstream').usage;
    // An embedding has no output tokens: zero by definition, not unknown.
    return { kind: 'json', status: response.status, headers: this.forwardedHeaders(response.headers), body: bytes, usage: { ...parseOpenAIUsage(usage), output: 0 } };
  }

  /**
   * Moderations, images, audio and rerank: the client's bytes (a JSON body, or the transcription's
   * multipart form) with `model` rewritten, to the endpoint's path. A JSON answer is metered and
   * forwarded; audio and plain-text transcripts stream through with the upstream's content type.
   */
  private async endpointPassthrough(endpoint: OpenAIEndpoint, body: JsonObject, call: UpstreamCall, raw: Buffer | undefined): Promise<PassthroughResponse> {
    const payload = endpoint === 'audio-transcriptions' ? formPayload(raw, call) : jsonPayload(body, call.upstreamModel, raw);
    const { response, url } = await this.post(call, payload.body, false, endpoint, { contentType: payload.contentType });
    const headers = this.forwardedHeaders(response.headers);
    if (!isJsonAnswer(response)) return bytesThrough(response, headers, this.name, url);
    const metered = meterAnswer(endpoint, await readBody(response.body, this.name, url));
    return { kind: 'json', status: response.status, headers, body: metered.body, usage: metered.usage, units: metered.units };
  }

  /** GET / DELETE / input_items / cancel of a stored response, answered with the managed id in place of the upstream's. */
  async storedResponse(call: UpstreamCall, request: StoredResponseRequest): Promise<StoredResponseAnswer> {
    const suffix = `/${encodeURIComponent(request.responseId)}${request.part}`;
    const { response, url } = await this.post(call, '', false, 'responses', { suffix, query: request.query, method: request.method });
    const bytes = await readBody(response.body, this.name, url);
    const managed = encodeResponseId(call.deployment.provider, call.deployment.id, request.responseId);
    return { status: response.status, headers: this.forwardedHeaders(response.headers), body: request.part === '/input_items' ? bytes : replaceFirstString(bytes, request.responseId, managed) };
  }

  /** Sends one request; subclasses refine the errors their service returns. */
  protected async post(call: UpstreamCall, body: string | Buffer, stream: boolean, endpoint: OpenAIEndpoint = 'chat', resource: ResponsesResource = {}): Promise<{ response: UpstreamResponse; url: string }> {
    const url = this.url(call, endpoint, resource);
    const headers = resource.contentType === undefined ? this.headers(call) : { ...this.headers(call), 'content-type': resource.contentType };
    const response = await postUpstream(url, headers, body, call, { provider: this.name, stream, parseError: parseOpenAIError, method: resource.method });
    return { response, url };
  }

  protected tapInspector(clientWantsUsage: boolean, annotate: ((usage: Usage) => Record<string, unknown> | undefined) | undefined): OpenAITapInspector {
    return new OpenAITapInspector(clientWantsUsage, annotate);
  }

  protected forwardedHeaders(headers: Record<string, string>): Record<string, string> {
    return forwardedHeaders(headers);
  }

  protected url(call: UpstreamCall, endpoint: OpenAIEndpoint = 'chat', resource: ResponsesResource = {}): string {
    const base = call.deployment.apiBase ?? this.defaultBase;
    if (base === undefined) {
      throw errors.misconfigured(`Deployment ${call.deployment.id} (${this.name}) has no api_base configured`);
    }
    if (endpoint !== 'responses') return joinUrl(base, ENDPOINT_PATHS[endpoint]);
    return joinUrl(base, `/responses${resource.suffix ?? ''}${resource.query === undefined || resource.query === '' ? '' : `?${resource.query}`}`);
  }

  /** The same for every request of a deployment: built once (shared/upstream-http.ts). */
  protected headers(call: UpstreamCall): Record<string, string> {
    const key = call.deployment.apiKey;
    return deploymentHeaders(call.deployment, 'openai', (): Record<string, string> => (key === undefined ? {} : { authorization: `Bearer ${key}` }));
  }
}

async function* decodeStream(body: Parameters<typeof sseEvents>[0], provider: string, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new OpenAIStreamDecoder();
  for await (const { parsed } of sseEvents(body, provider, url)) {
    if (parsed === undefined || parsed.data === '' || parsed.data === '[DONE]') continue;
    const chunk = tryParseJson(parsed.data);
    if (isObject(chunk)) yield* decoder.decode(chunk);
  }
  yield* decoder.end();
}

/**
 * The client's bytes with the model swapped (and include_usage added for metering), edited in place
 * when that is provably safe; re-serialised otherwise.
 */
function passthroughPayload(body: JsonObject, model: string, needsUsage: boolean, raw: Buffer | undefined, defaultMaxTokens: number | undefined): Buffer | string {
  // litellm_params.max_tokens applies when the client set no limit of its own.
  const defaultMax = body.max_tokens === undefined && body.max_completion_tokens === undefined ? defaultMaxTokens : undefined;
  let bytes = raw;
  if (bytes !== undefined && body.model !== model) bytes = typeof body.model === 'string' ? replaceModel(bytes, body.model, model) : undefined;
  if (bytes !== undefined && needsUsage) bytes = body.stream_options === undefined ? prependMember(bytes, 'stream_options', { include_usage: true }) : undefined;
  if (bytes !== undefined && defaultMax !== undefined) bytes = prependMember(bytes, 'max_tokens', defaultMax);
  if (bytes !== undefined) return bytes;
  const streamOptions = asObject(body.stream_options);
  return JSON.stringify({
    ...body,
    model,
    ...(needsUsage ? { stream_options: { ...streamOptions, include_usage: true } } : {}),
    ...(defaultMax === undefined ? {} : { max_tokens: defaultMax }),
  });
}


export function forwardedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'x-request-id' || name.startsWith('x-ratelimit-') || name === 'openai-processing-ms') out[`llm_provider-${name}`] = value;
  }
  return out;
}
