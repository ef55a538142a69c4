// Fake embedding endpoints of five providers on one loopback server, each on its real wire:
//  - OpenAI   POST /v1/embeddings                                       Authorization: Bearer <openaiKey>
//  - Azure    POST /openai/deployments/{d}/embeddings?api-version=…     api-key, or an Entra ID Bearer
//  - Bedrock  POST /model/{modelId}/invoke (Titan Text v2 / v1, Cohere Embed v3)   SigV4 or Bedrock API key
//  - Vertex   POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predict   Bearer ya29.* token
//  - Gemini   POST /v1beta/models/{m}:embedContent | :batchEmbedContents           x-goog-api-key
// One server is enough: the routes never overlap and each checks only its own credential.
// Bedrock and Vertex auth is not re-implemented (their checkers are not exported): the request is
// first replayed (same path, headers incl. host, body) against an inner startFakeBedrock /
// startFakeVertex; a 401/403 from there is this fake's answer, anything else means the credential
// passed. So SigV4, Bedrock API keys, the Vertex token endpoint (`fake.vertex.credentials`), token
// expiry, revokeTokens() and the project check behave exactly as in those fakes.
//
// Vectors: fakeEmbedding(text, dims): component i comes from sha256([text, i]) as a multiple of 2^-15
// in [-1, 1), exact in float32, so base64 (little-endian float32, as OpenAI sends it) decodes to the
// very same numbers. dims = the request's dimensions / outputDimensionality, else
// EMBEDDING_DEFAULT_DIMS, capped at EMBEDDING_MAX_DIMS (Cohere has no such parameter: always the
// default). A token-id array embeds as fakeEmbedding(JSON.stringify(ids)); Gemini parts as their texts
// joined by ' '. Task types (checked against Google's enum), titles, normalize and truncate never change a vector.
// Tokens: countWords(text) per input (token-id array: its length) → OpenAI/Azure usage (the sum),
// Titan inputTextTokenCount, X-Amzn-Bedrock-Input-Token-Count (Titan and Cohere; Cohere: the sum),
// Vertex statistics.token_count. Vertex metadata.billableCharacterCount = non-whitespace characters
// of the contents. The Gemini API reports no usage on either endpoint, so neither does this fake.
// script() steps apply to the next request that passed auth and validation, whichever provider.
import { request } from 'undici';
import { AZURE_AD_TOKEN, AZURE_FAKE_KEY, azureError } from './azure-upstream.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeOptions, type BedrockFakeUpstream } from './bedrock-upstream.js';
import type { Exchange, FakeStep, FakeUpstream, RecordedRequest, Reply } from './common.js';
import { countWords, hashOf, header, idFactory, isRecord, runStep, sendJson, serve, StepQueue } from './common.js';
import { GEMINI_FAKE_KEY, googleError } from './gemini-upstream.js';
import { OPENAI_FAKE_KEY, openaiError } from './openai-upstream.js';
import { startFakeVertex, type VertexFake, type VertexFakeOptions } from './vertex-upstream.js';

export const EMBEDDING_DEFAULT_DIMS = 8;
export const EMBEDDING_MAX_DIMS = 3072;
export const EMBEDDINGS_FAKE_KEYS = {
  openai: OPENAI_FAKE_KEY, azure: AZURE_FAKE_KEY, azureAdToken: AZURE_AD_TOKEN, gemini: GEMINI_FAKE_KEY, bedrock: BEDROCK_FAKE_CREDENTIALS,
} as const;
/** Azure deployment → the model name its answers report. */
export const EMBEDDINGS_AZURE_DEPLOYMENTS: Readonly<Record<string, string>> = { 'text-embedding-3-small': 'text-embedding-3-small', 'embeddings-large': 'text-embedding-3-large' };

/** The vector every endpoint returns for `text`; tests compute expectations with it. */
export function fakeEmbedding(text: string, dims = EMBEDDING_DEFAULT_DIMS): number[] {
  return Array.from({ length: Math.min(dims, EMBEDDING_MAX_DIMS) }, (_, i) => (parseInt(hashOf([text, i]).slice(0, 4), 16) - 32768) / 32768);
}

/** Text a (string or token-id) OpenAI input is embedded as. */
export const embeddingText = (input: string | number[]): string => (typeof input === 'string' ? input : JSON.stringify(input));
export const embeddingTokens = (input: string | number[]): number => (typeof input === 'string' ? countWords(input) : input.length);

export function float32Base64(vector: number[]): string {
  const buf = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

export type CohereEmbeddingType = 'float' | 'int8' | 'uint8' | 'binary' | 'ubinary';
const COHERE_TYPES: readonly string[] = ['float', 'int8', 'uint8', 'binary', 'ubinary'];

/** Cohere's quantisations: int8/uint8 scale [-1, 1]; (u)binary packs sign bits 8 per byte, MSB first, binary = ubinary - 128. */
export function cohereEmbeddingAs(vector: number[], type: CohereEmbeddingType): number[] {
  if (type === 'float') return vector;
  if (type === 'int8') return vector.map((v) => Math.round(v * 127));
  if (type === 'uint8') return vector.map((v) => Math.round((v + 1) * 127.5));
  const bytes = Array.from({ length: Math.ceil(vector.length / 8) }, (_, b) =>
    vector.slice(b * 8, b * 8 + 8).reduce((byte, v, j) => (v > 0 ? byte | (0x80 >> j) : byte), 0));
  return type === 'ubinary' ? bytes : bytes.map((b) => b - 128);
}

/** Titan v2 `binary`: one 0/1 per dimension (the sign). */
export const titanBinary = (vector: number[]): number[] => vector.map((v) => (v > 0 ? 1 : 0));

export interface EmbeddingsFakeOptions {
  openaiKey?: string;
  azureKey?: string;
  azureAdToken?: string;
  geminiKey?: string;
  azureDeployments?: Record<string, string>;
  /** Credentials / bearerToken (Bedrock API key) / region of the inner Bedrock fake that checks auth. */
  bedrock?: Pick<BedrockFakeOptions, 'credentials' | 'bearerToken' | 'region'>;
  /** Project (default VERTEX_PROJECT) and token lifetime of the inner Vertex fake that checks auth. */
  vertex?: Pick<VertexFakeOptions, 'project' | 'tokenTtlSeconds'>;
}

export interface EmbeddingsFake extends FakeUpstream {
  /** Inner fake whose SigV4 / bearer check the Bedrock route reuses (its requests are auth probes). */
  bedrock: BedrockFakeUpstream;
  /** Inner fake: its `credentials` (token_uri → its /token) go in `vertex_credentials`. */
  vertex: VertexFake;
}

type Provider = 'openai' | 'azure' | 'bedrock' | 'google';
interface Answer { status: number; text: string; headers?: Record<string, string> }
const answer = (body: unknown, headers?: Record<string, string>): Answer => ({ status: 200, text: JSON.stringify(body), ...(headers ? { headers } : {}) });
const oaFail = (status: number, message: string, param: string | null = null, code: string | null = null): Answer =>
  ({ status, text: JSON.stringify(openaiError(message, 'invalid_request_error', code, param)) });
const gFail = (status: number, code: string, message: string, details?: unknown[]): Answer => ({ status, text: JSON.stringify(googleError(status, code, message, details)) });
const awsFail = (status: number, type: string, message: string): Answer =>
  ({ status, text: JSON.stringify({ message }), headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` } });
const malformed = (detail: string): Answer => awsFail(400, 'ValidationException', `Malformed input request: ${detail}, please reformat your input and try again.`);

const AWS_ERRORS: Record<number, [string, string]> = {
  400: ['ValidationException', 'Fake validation error'], 403: ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'], 500: ['InternalServerException', 'Internal server error'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
};
const GOOGLE_STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** Default body (and headers) of a scripted error status, in each provider's envelope. */
function errorFor(provider: Provider, status: number): Answer {
  if (provider === 'bedrock') {
    const [type, message] = AWS_ERRORS[status] ?? [status >= 500 ? 'InternalServerException' : 'ValidationException', `Fake error ${status}`];
    return awsFail(status, type, message);
  }
  if (provider === 'google') return gFail(status, GOOGLE_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'), `Fake error ${status}`);
  if (provider === 'azure') return { status, text: JSON.stringify(azureError(String(status), status === 429 ? 'Rate limit exceeded. Try again in 1 seconds.' : `Fake error ${status}`)) };
  if (status === 429) return { status, text: JSON.stringify(openaiError('Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded')) };
  if (status >= 500) return { status, text: JSON.stringify(openaiError('The server had an error while processing your request. Sorry about that!', 'server_error', null)) };
  return oaFail(status, `Fake error ${status}`);
}

/** Requested dimensions, defaulted and capped; a string is the reason they are refused. */
function dimsOf(value: unknown): number | string {
  if (value === undefined || value === null) return EMBEDDING_DEFAULT_DIMS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return `${JSON.stringify(value)} is not a positive integer`;
  return Math.min(value, EMBEDDING_MAX_DIMS);
}

const isTokenArray = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((n) => Number.isInteger(n));

/** OpenAI's accepted input forms as a list; undefined when OpenAI answers '$.input' is invalid. */
function openaiInputs(input: unknown): (string | number[])[] | undefined {
  if (typeof input === 'string') return input === '' ? undefined : [input];
  if (!Array.isArray(input) || input.length === 0 || input.length > 2048) return undefined;
  if (isTokenArray(input)) return [input];
  if (input.every((x): x is string => typeof x === 'string' && x !== '')) return input;
  if (input.every(isTokenArray)) return input;
  return undefined;
}

/** OpenAI / Azure body → answer; Azure passes the deployment's model (the body's `model` is then ignored). */
function openaiEmbeddings(body: unknown, deploymentModel?: string): Answer {
  if (!isRecord(body)) return oaFail(400, 'We could not parse the JSON body of your request.');
  const model = deploymentModel ?? body.model;
  if (typeof model !== 'string' || model === '') return oaFail(400, 'you must provide a model parameter', 'model');
  const inputs = openaiInputs(body.input);
  if (inputs === undefined) return oaFail(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'input');
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return oaFail(400, `${JSON.stringify(format)} is not one of ['float', 'base64'] - 'encoding_format'`, 'encoding_format');
  if (body.dimensions !== undefined && model.includes('ada-002')) return oaFail(400, 'This model does not support specifying dimensions.', 'dimensions');
  const dims = dimsOf(body.dimensions);
  if (typeof dims === 'string') return oaFail(400, `Invalid 'dimensions': ${dims}.`, 'dimensions', 'invalid_value');
  const data = inputs.map((input, index) => {
    const vector = fakeEmbedding(embeddingText(input), dims);
    return { object: 'embedding', index, embedding: format === 'base64' ? float32Base64(vector) : vector };
  });
  const tokens = inputs.reduce((sum, input) => sum + embeddingTokens(input), 0);
  return answer({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, { 'openai-model': model });
}

const bedrockHeaders = (tokens: number): Record<string, string> => ({ 'X-Amzn-Bedrock-Input-Token-Count': String(tokens), 'X-Amzn-Bedrock-Invocation-Latency': '5' });
const TITAN_V2_KEYS = new Set(['inputText', 'dimensions', 'normalize', 'embeddingTypes']);
const COHERE_KEYS = new Set(['texts', 'input_type', 'truncate', 'embedding_types']);
const COHERE_INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering']);

function bedrockEmbed(modelId: string, body: unknown, nextId: () => string): Answer {
  const family = /amazon\.titan-embed-text-v2/.test(modelId) ? 'titan-v2'
    : /amazon\.titan-embed-(text-v1|g1-text-02)/.test(modelId) ? 'titan-v1'
      : /cohere\.embed-(english|multilingual)-v3/.test(modelId) ? 'cohere' : undefined;
  if (family === undefined) return awsFail(400, 'ValidationException', 'The provided model identifier is invalid.');
  if (!isRecord(body)) return malformed('#: expected type: JSONObject');
  const allowed = family === 'titan-v2' ? TITAN_V2_KEYS : family === 'cohere' ? COHERE_KEYS : new Set(['inputText']);
  const extraneous = Object.keys(body).find((k) => !allowed.has(k));
  if (extraneous !== undefined) return malformed(`#: extraneous key [${extraneous}] is not permitted`);
  if (family === 'cohere') return cohereEmbed(body, nextId);
  if (!('inputText' in body)) return malformed('#: required key [inputText] not found');
  if (typeof body.inputText !== 'string') return malformed('#/inputText: expected type: String');
  if (body.inputText === '') return malformed('#/inputText: expected minLength: 1, actual: 0');
  const dims = dimsOf(body.dimensions);
  if (typeof dims === 'string') return malformed(`#/dimensions: ${dims}`);
  const vector = fakeEmbedding(body.inputText, dims);
  const tokens = countWords(body.inputText);
  if (family === 'titan-v1') return answer({ embedding: vector, inputTextTokenCount: tokens }, bedrockHeaders(tokens));
  const types: unknown = body.embeddingTypes ?? ['float'];
  if (!Array.isArray(types) || types.length === 0 || types.some((t) => t !== 'float' && t !== 'binary')) return malformed('#/embeddingTypes: expected a non-empty subset of [float, binary]');
  const byType: Record<string, number[]> = {};
  if (types.includes('float')) byType.float = vector;
  if (types.includes('binary')) byType.binary = titanBinary(vector);
  return answer({ embedding: vector, embeddingsByType: byType, inputTextTokenCount: tokens }, bedrockHeaders(tokens));
}

function cohereEmbed(body: Record<string, unknown>, nextId: () => string): Answer {
  const texts = body.texts;
  if (!Array.isArray(texts)) return malformed('#: required key [texts] not found');
  if (texts.length === 0 || texts.length > 96) return malformed(`#/texts: expected ${texts.length === 0 ? 'minimum item count: 1' : 'maximum item count: 96'}, found: ${texts.length}`);
  if (!texts.every((t): t is string => typeof t === 'string')) return malformed('#/texts: expected type: String');
  if (!('input_type' in body)) return malformed('#: required key [input_type] not found');
  if (!COHERE_INPUT_TYPES.has(String(body.input_type))) return malformed(`#/input_type: ${String(body.input_type)} is not a valid enum value`);
  const truncate = body.truncate;
  if (truncate !== undefined && (typeof truncate !== 'string' || !['NONE', 'START', 'END'].includes(truncate))) return malformed(`#/truncate: ${JSON.stringify(truncate)} is not a valid enum value`);
  const vectors = texts.map((t) => fakeEmbedding(t));
  const headers = bedrockHeaders(texts.reduce((sum, t) => sum + countWords(t), 0));
  if (body.embedding_types === undefined) return answer({ embeddings: vectors, id: nextId(), response_type: 'embeddings_floats', texts }, headers);
  const types = body.embedding_types;
  if (!Array.isArray(types) || types.length === 0 || !types.every((t): t is CohereEmbeddingType => COHERE_TYPES.includes(String(t)))) {
    return malformed(`#/embedding_types: expected a non-empty subset of [${COHERE_TYPES.join(', ')}]`);
  }
  const embeddings = Object.fromEntries(types.map((t) => [t, vectors.map((v) => cohereEmbeddingAs(v, t))]));
  return answer({ embeddings, id: nextId(), response_type: 'embeddings_by_type', texts }, headers);
}

const TASK_TYPES = new Set(['TASK_TYPE_UNSPECIFIED', 'RETRIEVAL_QUERY', 'RETRIEVAL_DOCUMENT', 'SEMANTIC_SIMILARITY', 'CLASSIFICATION', 'CLUSTERING', 'QUESTION_ANSWERING', 'FACT_VERIFICATION', 'CODE_RETRIEVAL_QUERY']);
/** Google refuses a task type outside its enum (proto JSON); the message, or undefined when it is fine. */
const badTaskType = (value: unknown, at: string): string | undefined =>
  (value === undefined || (typeof value === 'string' && TASK_TYPES.has(value)) ? undefined : `Invalid value at '${at}' (TaskType), ${JSON.stringify(value)}`);

function vertexPredict(model: string, body: unknown): Answer {
  if (!isRecord(body)) return gFail(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length === 0) return gFail(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. instances must not be empty.');
  // gemini-embedding-* on the Vertex predict endpoint takes one instance per request.
  const max = model.startsWith('gemini-embedding') ? 1 : 250;
  if (instances.length > max) return gFail(400, 'INVALID_ARGUMENT', `Unable to submit request because batchSize must be at most ${max} but the entered value was ${instances.length}.`);
  const contents: string[] = [];
  for (const [i, instance] of instances.entries()) {
    if (!isRecord(instance) || typeof instance.content !== 'string') return gFail(400, 'INVALID_ARGUMENT', `Invalid instance at index ${i}: "content" must be a string.`);
    const badTask = badTaskType(instance.task_type, `instances[${i}].task_type`);
    if (badTask !== undefined) return gFail(400, 'INVALID_ARGUMENT', badTask);
    contents.push(instance.content);
  }
  const parameters = isRecord(body.parameters) ? body.parameters : {};
  const dims = dimsOf(parameters.outputDimensionality);
  if (typeof dims === 'string') return gFail(400, 'INVALID_ARGUMENT', `Invalid outputDimensionality: ${dims}.`);
  const predictions = contents.map((c) => ({ embeddings: { values: fakeEmbedding(c, dims), statistics: { token_count: countWords(c), truncated: false } } }));
  const billableCharacterCount = contents.reduce((sum, c) => sum + [...c.replace(/\s/g, '')].length, 0);
  return answer({ predictions, metadata: { billableCharacterCount } });
}

/** One EmbedContentRequest → its embedding, or the INVALID_ARGUMENT message. */
function geminiOne(req: unknown, where: string): { values: number[] } | string {
  const parts = isRecord(req) && isRecord(req.content) && Array.isArray(req.content.parts) ? req.content.parts : [];
  if (parts.length === 0) return `* ${where}.content.parts: contents.parts must not be empty.`;
  const texts = parts.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : undefined));
  if (texts.some((t) => t === undefined)) return `* ${where}.content.parts: this fake embeds text parts only`;
  const badTask = badTaskType(isRecord(req) ? req.taskType : undefined, `${where}.task_type`);
  if (badTask !== undefined) return badTask;
  const dims = dimsOf(isRecord(req) ? req.outputDimensionality : undefined);
  return typeof dims === 'string' ? `* ${where}.output_dimensionality: ${dims}` : { values: fakeEmbedding(texts.join(' '), dims) };
}

function geminiEmbed(model: string, method: string, body: unknown): Answer {
  if (!isRecord(body)) return gFail(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  if (method === 'embedContent') {
    const one = geminiOne(body, 'EmbedContentRequest');
    return typeof one === 'string' ? gFail(400, 'INVALID_ARGUMENT', one) : answer({ embedding: one });
  }
  const requests = Array.isArray(body.requests) ? body.requests : [];
  if (requests.length === 0 || requests.length > 100) return gFail(400, 'INVALID_ARGUMENT', '* BatchEmbedContentsRequest.requests: between 1 and 100 requests are allowed in one batch.');
  const embeddings: { values: number[] }[] = [];
  for (const [i, req] of requests.entries()) {
    const name = isRecord(req) ? req.model : undefined;
    if (typeof name !== 'string' || !name.startsWith('models/')) return gFail(400, 'INVALID_ARGUMENT', `* BatchEmbedContentsRequest.requests[${i}].model: unexpected model name format`);
    if (name !== `models/${model}`) return gFail(400, 'INVALID_ARGUMENT', `* BatchEmbedContentsRequest.requests[${i}].model: must be the batch's model models/${model}`);
    const one = geminiOne(req, `BatchEmbedContentsRequest.requests[${i}]`);
    if (typeof one === 'string') return gFail(400, 'INVALID_ARGUMENT', one);
    embeddings.push(one);
  }
  return answer({ embeddings });
}

const NOT_FORWARDED = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive', 'expect']);

/** Replays the request against an inner fake's auth check; its 401/403 answer, or undefined when the credential passed. */
async function authProbe(ex: Exchange, baseUrl: string): Promise<Answer | undefined> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ex.req.headers)) if (typeof value === 'string' && !NOT_FORWARDED.has(name)) headers[name] = value;
  const res = await request(`${baseUrl}${ex.record.path}`, { method: 'POST', headers, body: ex.record.body, signal: ex.signal });
  const text = await res.body.text();
  if (res.statusCode !== 401 && res.statusCode !== 403) return undefined;
  const errorType = res.headers['x-amzn-errortype'];
  return { status: res.statusCode, text, headers: typeof errorType === 'string' ? { 'x-amzn-errortype': errorType } : {} };
}

export async function startFakeEmbeddings(opts: EmbeddingsFakeOptions = {}): Promise<EmbeddingsFake> {
  const keys = { openai: opts.openaiKey ?? OPENAI_FAKE_KEY, azure: opts.azureKey ?? AZURE_FAKE_KEY, ad: opts.azureAdToken ?? AZURE_AD_TOKEN, gemini: opts.geminiKey ?? GEMINI_FAKE_KEY };
  const deployments = opts.azureDeployments ?? EMBEDDINGS_AZURE_DEPLOYMENTS;
  const bedrock = await startFakeBedrock(opts.bedrock);
  const vertex = await startFakeVertex(opts.vertex);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const nextRequestId = idFactory('req_fake_emb');
  const nextCohereId = ((next) => () => `00000000-0000-4000-8000-${next().slice(-12)}`)(idFactory(''));

  const route = async (ex: Exchange, pathname: string, query: string): Promise<{ provider: Provider; result: Answer } | undefined> => {
    const body = ex.record.json;
    if (pathname === '/v1/embeddings') {
      const auth = header(ex, 'authorization');
      if (auth === undefined || !auth.startsWith('Bearer ')) return { provider: 'openai', result: oaFail(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).") };
      if (auth !== `Bearer ${keys.openai}`) return { provider: 'openai', result: oaFail(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', null, 'invalid_api_key') };
      return { provider: 'openai', result: openaiEmbeddings(body) };
    }
    let m = /^\/openai\/deployments\/([^/]+)\/embeddings$/.exec(pathname);
    if (m !== null) {
      const fail = (status: number, code: string, message: string): { provider: Provider; result: Answer } => ({ provider: 'azure', result: { status, text: JSON.stringify(azureError(code, message)) } });
      if (header(ex, 'api-key') !== keys.azure && header(ex, 'authorization') !== `Bearer ${keys.ad}`) {
        return fail(401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
      }
      if (!new URLSearchParams(query).has('api-version')) return fail(404, '404', 'Resource not found');
      const model = deployments[decodeURIComponent(m[1] ?? '')];
      if (model === undefined) return fail(404, 'DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.');
      return { provider: 'azure', result: openaiEmbeddings(body, model) };
    }
    m = /^\/model\/([^/]+)\/invoke$/.exec(pathname);
    if (m !== null) return { provider: 'bedrock', result: (await authProbe(ex, bedrock.url)) ?? bedrockEmbed(decodeURIComponent(m[1] ?? ''), body, nextCohereId) };
    m = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/:]+):predict$/.exec(pathname);
    if (m !== null) return { provider: 'google', result: (await authProbe(ex, vertex.url)) ?? vertexPredict(m[1] ?? '', body) };
    m = /^\/v1beta\/models\/([^/:]+):(embedContent|batchEmbedContents)$/.exec(pathname);
    if (m === null) return undefined;
    const key = header(ex, 'x-goog-api-key');
    if (key === undefined) return { provider: 'google', result: gFail(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.") };
    if (key !== keys.gemini) {
      return { provider: 'google', result: gFail(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }]) };
    }
    return { provider: 'google', result: geminiEmbed(m[1] ?? '', m[2] ?? '', body) };
  };

  const handler = async (ex: Exchange): Promise<void> => {
    const [pathname = '', query = ''] = ex.record.path.split('?');
    const routed = ex.req.method === 'POST' ? await route(ex, pathname, query) : undefined;
    if (routed === undefined) return sendJson(ex, 404, JSON.stringify({ error: { message: `fake embeddings: no route for ${ex.req.method ?? ''} ${pathname}` } }), { 'content-type': 'application/json' });
    const { provider, result } = routed;
    const id = nextRequestId();
    const base: Record<Provider, Record<string, string>> = {
      openai: { 'content-type': 'application/json', 'x-request-id': id, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' },
      azure: { 'content-type': 'application/json', 'apim-request-id': id, 'x-ms-region': 'East US' },
      bedrock: { 'content-type': 'application/json', 'x-amzn-requestid': id },
      google: { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer' },
    };
    const headers = base[provider];
    if (result.status !== 200) return sendJson(ex, result.status, result.text, { ...headers, ...result.headers });
    const step: FakeStep = steps.next();
    // A scripted status gets the provider's error headers (Bedrock's x-amzn-errortype) unless the step sets its own.
    const run = step !== 'ok' && !('kind' in step) ? { ...step, headers: { ...errorFor(provider, step.status).headers, ...step.headers } } : step;
    const ok = (): Reply => ({ kind: 'json', status: 200, text: result.text, headers: result.headers ?? {} });
    const overloaded = errorFor(provider, 503);
    await runStep(ex, run, {
      stream: false, ok, tool: ok,
      overloadedInStream: () => ({ kind: 'json', status: 503, text: overloaded.text, headers: overloaded.headers ?? {} }),
      errorBody: (status) => errorFor(provider, status).text,
      headers: () => headers,
      eventDelayMs: 0,
    });
    ex.record.step = step;
  };

  const server = await serve(requests, handler);
  return {
    url: server.url,
    requests,
    script: (s) => steps.push(s),
    resetCache: () => undefined,
    close: async () => {
      await server.close();
      await Promise.all([bedrock.close(), vertex.close()]);
    },
    bedrock,
    vertex,
  };
}
