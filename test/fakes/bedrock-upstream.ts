// Fake AWS Bedrock runtime: POST /model/{id}/invoke, /invoke-with-response-stream, /converse,
// /converse-stream and /count-tokens, speaking the real wire format (shapes from
// test/fixtures/providers/bedrock): Anthropic Messages JSON for InvokeModel, Converse JSON, and AWS
// binary event streams built with @smithy/eventstream-codec (InvokeModel: `chunk` events whose
// payload is {"bytes": base64 of an Anthropic event}; ConverseStream: messageStart,
// contentBlockDelta, contentBlockStop, messageStop, metadata). Errors are `{"message": …}` with the
// AWS error name in `x-amzn-errortype`. InvokeModel bodies are validated as Bedrock does: only its
// top-level fields, only its betas ("invalid beta flag"), no `cache_control.scope`, no
// `tools[].custom`, `context_management` with compact edits only, and only the features the model
// has (adaptive thinking and effort from 4.6, `role: "system"` messages from Opus 4.8).
//
// Auth: every request must carry either `Authorization: Bearer <bearerToken>` or a SigV4 signature
// that this fake recomputes independently (its own credentials, SHA-256 from node:crypto, the
// received method/path/headers/body) and compares; a mismatch is 403 InvalidSignatureException.
//
// Prompt cache: the same deterministic rule as the Anthropic fake (1 token per whitespace word,
// cached prefix = up to the last breakpoint, look-back to earlier breakpoints). InvokeModel bodies
// are flattened with anthropicBlocks(); Converse bodies as toolConfig.tools → system → messages,
// where a `cachePoint` block marks the block before it as a breakpoint (its `ttl`, default 5m).
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { anthropicBlocks } from './anthropic-upstream.js';
import { cacheScopeError, claudeModelError, FAKE_BEDROCK_BETAS, INVOKE_FIELDS } from './claude-platform-rules.js';
import type { Exchange, FakeStep, RecordedRequest, StatusStep } from './common.js';
import { countWords, hashOf, header, idFactory, isRecord, sendJson, serve, sleep, splitInto, wordDeltas } from './common.js';

export interface AwsTestCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export const BEDROCK_FAKE_CREDENTIALS: AwsTestCredentials = { accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'fake/Bedrock+Secret/Key/0123456789abcdef' };
export const BEDROCK_FAKE_REGION = 'us-east-1';
export const BEDROCK_REPLY_TEXT = 'Hello from fake bedrock.';

export interface BedrockFakeOptions {
  credentials?: AwsTestCredentials;
  /** Accept `Authorization: Bearer <token>` (a Bedrock API key) as well. */
  bearerToken?: string;
  region?: string;
  replyText?: string;
  eventDelayMs?: number;
}

/** An exception frame inside a 200 stream, after `afterEvents` normal frames (default 0) and a pause of `delayMs`. */
export interface InStreamExceptionStep { kind: 'exception-in-stream'; exceptionType: string; message?: string; afterEvents?: number; delayMs?: number }
export type BedrockStep = FakeStep | InStreamExceptionStep;

export interface BedrockFakeUpstream {
  url: string;
  requests: RecordedRequest[];
  script: (steps: BedrockStep[]) => void;
  resetCache: () => void;
  close: () => Promise<void>;
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

function frame(headers: Record<string, string>, payload: unknown): Uint8Array {
  const typed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { type: 'string' as const, value: v }]));
  return codec.encode({ headers: typed, body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')) });
}
const eventFrame = (eventType: string, payload: unknown): Uint8Array =>
  frame({ ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }, payload);
const exceptionFrame = (exceptionType: string, message: string): Uint8Array =>
  frame({ ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' }, { message });
/** InvokeModel stream: one Anthropic event, base64 in a `chunk`. */
const chunkFrame = (event: Record<string, unknown>): Uint8Array => eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64') });

/** Independent SHA-256 / HMAC for the signer (node:crypto, not the gateway's hash). */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

interface AuthFailure { status: number; type: string; message: string }

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

async function checkAuth(ex: Exchange, creds: AwsTestCredentials, region: string, bearer: string | undefined): Promise<AuthFailure | undefined> {
  const auth = header(ex, 'authorization');
  const invalidToken: AuthFailure = { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (auth === undefined) return { status: 403, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  if (auth.startsWith('Bearer ')) return bearer !== undefined && auth.slice(7) === bearer ? undefined : invalidToken;
  const m = SIGV4.exec(auth);
  if (m === null) return { status: 403, type: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.` };
  const [, accessKeyId, , scopeRegion, service, signedHeaders] = m;
  if (accessKeyId !== creds.accessKeyId) return invalidToken;
  if (creds.sessionToken !== undefined && header(ex, 'x-amz-security-token') !== creds.sessionToken) return invalidToken;
  const bad = (message: string): AuthFailure => ({ status: 403, type: 'InvalidSignatureException', message });
  if (service !== 'bedrock') return bad(`Credential should be scoped to correct service: 'bedrock'.`);
  if (scopeRegion !== region) return bad(`Credential should be scoped to a valid region.`);
  const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(header(ex, 'x-amz-date') ?? '');
  if (amzDate === null) return bad('Missing or malformed X-Amz-Date.');
  const [, y, mo, d, h, mi, s] = amzDate.map(Number);
  const signingDate = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
  if (Math.abs(Date.now() - signingDate.getTime()) > 5 * 60_000) return bad('Signature expired: the request time is too far from the server time.');
  const bodyHash = createHash('sha256').update(ex.record.body, 'utf8').digest('hex');
  const declared = header(ex, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash) return bad('The provided x-amz-content-sha256 header does not match what was computed.');
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders ?? '').split(';')) {
    const value = ex.req.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [path = '/', query = ''] = ex.record.path.split('?');
  const signer = new SignatureV4({ credentials: creds, region, service: 'bedrock', sha256: NodeSha256, applyChecksum: false });
  const expected = await signer.sign(
    { method: ex.req.method ?? 'POST', protocol: 'http:', hostname: headers.host ?? '', path, query: Object.fromEntries(new URLSearchParams(query)), headers, body: ex.record.body },
    { signingDate },
  );
  if (expected.headers.authorization !== auth) {
    return bad('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
  return undefined;
}

interface CacheBlock { content: unknown; tokens: number; ttl?: '5m' | '1h' | undefined }
interface CacheResult { uncached: number; read: number; write: number; ttl: '5m' | '1h' }

function simulateCache(scope: string, blocks: CacheBlock[], cache: Set<string>): CacheResult {
  const total = blocks.reduce((sum, b) => sum + b.tokens, 0);
  const breakpoints = blocks.flatMap((b, index) => (b.ttl === undefined ? [] : [{ index, ttl: b.ttl }]));
  const last = breakpoints.at(-1);
  if (last === undefined) return { uncached: Math.max(1, total), read: 0, write: 0, ttl: '5m' };
  const prefixTokens = (index: number): number => blocks.slice(0, index + 1).reduce((sum, b) => sum + b.tokens, 0);
  const keyFor = (index: number): string => hashOf([scope, blocks.slice(0, index + 1).map((b) => b.content)]);
  const prefix = prefixTokens(last.index);
  const uncached = Math.max(1, total - prefix);
  if (cache.has(keyFor(last.index))) return { uncached, read: prefix, write: 0, ttl: last.ttl };
  const hit = breakpoints.slice(0, -1).reverse().find((bp) => cache.has(keyFor(bp.index)));
  const read = hit === undefined ? 0 : prefixTokens(hit.index);
  for (const bp of breakpoints) cache.add(keyFor(bp.index));
  return { uncached, read, write: prefix - read, ttl: last.ttl };
}

const ttlOf = (value: unknown): '5m' | '1h' => (isRecord(value) && value.ttl === '1h' ? '1h' : '5m');

function invokeCacheBlocks(body: Record<string, unknown>): CacheBlock[] {
  const blocks: CacheBlock[] = anthropicBlocks(body).map((b) => ({ content: b.content, tokens: b.tokens, ttl: isRecord(b.cacheControl) ? ttlOf(b.cacheControl) : undefined }));
  const last = blocks.at(-1);
  if (isRecord(body.cache_control) && last !== undefined) last.ttl = ttlOf(body.cache_control);
  return blocks;
}

function converseTokens(block: Record<string, unknown>): number {
  if (typeof block.text === 'string') return countWords(block.text);
  const result = block.toolResult;
  if (isRecord(result) && Array.isArray(result.content)) {
    return result.content.reduce((sum: number, c: unknown) => sum + (isRecord(c) && typeof c.text === 'string' ? countWords(c.text) : countWords(JSON.stringify(c))), 0);
  }
  return countWords(JSON.stringify(block));
}

function converseCacheBlocks(body: Record<string, unknown>): CacheBlock[] {
  const items: unknown[] = [];
  const toolConfig = isRecord(body.toolConfig) ? body.toolConfig : {};
  if (Array.isArray(toolConfig.tools)) items.push(...toolConfig.tools);
  if (Array.isArray(body.system)) items.push(...body.system);
  for (const message of Array.isArray(body.messages) ? body.messages : []) if (isRecord(message) && Array.isArray(message.content)) items.push(...message.content);
  const blocks: CacheBlock[] = [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const previous = blocks.at(-1);
    if (item.cachePoint !== undefined) {
      if (previous !== undefined) previous.ttl = ttlOf(item.cachePoint);
    } else blocks.push({ content: item, tokens: converseTokens(item) });
  }
  return blocks;
}

const CONVERSE_KEYS = new Set(['messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig', 'additionalModelRequestFields', 'additionalModelResponseFieldPaths', 'outputConfig', 'promptVariables', 'requestMetadata', 'performanceConfig']);
const BLOCK_KEYS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'reasoningContent', 'cachePoint', 'guardContent', 'citationsContent']);

function validateConverse(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).find((k) => !CONVERSE_KEYS.has(k));
  if (unknown !== undefined) return `Unknown parameter in input: "${unknown}"`;
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'A conversation must start with a user message.';
  let usesTools = false;
  for (const [i, message] of body.messages.entries()) {
    if (!isRecord(message) || (message.role !== 'user' && message.role !== 'assistant') || !Array.isArray(message.content)) return `messages.${i}: invalid message`;
    for (const [j, block] of message.content.entries()) {
      const keys = isRecord(block) ? Object.keys(block) : [];
      if (keys.length !== 1 || !BLOCK_KEYS.has(keys[0] ?? '')) return `messages.${i}.content.${j}: a content block must have exactly one member`;
      if (isRecord(block) && typeof block.text === 'string' && block.text.trim() === '') return `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`;
      if (isRecord(block) && (block.toolUse !== undefined || block.toolResult !== undefined)) usesTools = true;
    }
  }
  if (usesTools && !isRecord(body.toolConfig)) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  return undefined;
}

function validateInvoke(body: Record<string, unknown>, modelId: string): string | undefined {
  const extraneous = Object.keys(body).find((k) => !INVOKE_FIELDS.has(k));
  if (extraneous !== undefined) return `Malformed input request: #: extraneous key [${extraneous}] is not permitted, please reformat your input and try again.`;
  if (body.anthropic_version !== 'bedrock-2023-05-31') return 'Malformed input request: #/anthropic_version: bedrock-2023-05-31 is the only supported version';
  for (const key of ['max_tokens', 'messages']) if (!(key in body)) return `Malformed input request: #: required key [${key}] not found, please reformat your input and try again.`;
  if ('anthropic_beta' in body && !(Array.isArray(body.anthropic_beta) && body.anthropic_beta.every((b) => typeof b === 'string'))) {
    return 'Malformed input request: #/anthropic_beta: expected type: JSONArray';
  }
  if (Array.isArray(body.anthropic_beta) && body.anthropic_beta.some((b) => !FAKE_BEDROCK_BETAS.has(String(b)))) return 'The model returned the following errors: invalid beta flag';
  if (isRecord(body.context_management)) {
    const edits = Array.isArray(body.context_management.edits) ? body.context_management.edits : [];
    if (edits.some((e) => !isRecord(e) || e.type !== 'compact_20260112')) return 'context_management: Extra inputs are not permitted';
  }
  if (Array.isArray(body.tools)) {
    const i = body.tools.findIndex((t) => isRecord(t) && 'custom' in t);
    if (i >= 0) return `tools.${i}.custom: Extra inputs are not permitted`;
  }
  return cacheScopeError(body) ?? claudeModelError(body, modelId);
}

const ERROR_TYPES: Record<number, [string, string]> = {
  400: ['ValidationException', 'Fake validation error'],
  403: ['AccessDeniedException', 'You don\'t have access to the model with the specified model ID.'],
  404: ['ResourceNotFoundException', 'Model not found'],
  408: ['ModelTimeoutException', 'Model timed out'],
  424: ['ModelErrorException', 'The model returned an error'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'Internal server error'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
};

type Reply = { kind: 'json'; status: number; text: string } | { kind: 'frames'; frames: Uint8Array[] };

/** `anthropic.claude-sonnet-4-5-20250929-v1:0` / `us.anthropic.…` → `claude-sonnet-4-5-20250929` (what Bedrock reports). */
function claudeModelName(modelId: string): string {
  return modelId.replace(/^.*anthropic\./, '').replace(/-v\d+(:\d+)?$/, '');
}

export async function startFakeBedrock(opts: BedrockFakeOptions = {}): Promise<BedrockFakeUpstream> {
  const creds = opts.credentials ?? BEDROCK_FAKE_CREDENTIALS;
  const region = opts.region ?? BEDROCK_FAKE_REGION;
  const replyText = opts.replyText ?? BEDROCK_REPLY_TEXT;
  const requests: RecordedRequest[] = [];
  const queue: BedrockStep[] = [];
  const cache = new Set<string>();
  const nextRequestId = idFactory('fake-req-');
  const nextMsgId = idFactory('msg_bdrk_');
  const nextToolId = idFactory('tooluse_');

  const handler = async (ex: Exchange): Promise<void> => {
    const requestId = nextRequestId();
    const jsonHeaders = { 'content-type': 'application/json', 'x-amzn-requestid': requestId };
    const fail = (status: number, type: string, message: string): void =>
      sendJson(ex, status, JSON.stringify({ message }), { ...jsonHeaders, 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });

    const route = /^\/model\/([^/?]+)\/(invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$/.exec(ex.record.path.split('?')[0] ?? '');
    if (ex.req.method !== 'POST' || route === null) return fail(404, 'UnknownOperationException', 'Unknown operation');
    const denied = await checkAuth(ex, creds, region, opts.bearerToken);
    if (denied !== undefined) return fail(denied.status, denied.type, denied.message);
    const modelId = decodeURIComponent(route[1] ?? '');
    const action = route[2] ?? '';
    const body = ex.record.json;
    if (!isRecord(body)) return fail(400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');

    if (action === 'count-tokens') {
      const input = isRecord(body.input) ? body.input : {};
      const invoke = isRecord(input.invokeModel) && typeof input.invokeModel.body === 'string' ? (JSON.parse(input.invokeModel.body) as unknown) : undefined;
      const blocks = isRecord(invoke) ? invokeCacheBlocks(invoke) : isRecord(input.converse) ? converseCacheBlocks(input.converse) : undefined;
      if (blocks === undefined) return fail(400, 'ValidationException', 'input must contain invokeModel or converse');
      return sendJson(ex, 200, JSON.stringify({ inputTokens: Math.max(1, blocks.reduce((s, b) => s + b.tokens, 0)) }), jsonHeaders);
    }
    const isInvoke = action.startsWith('invoke');
    const stream = action.endsWith('stream');
    const invalid = isInvoke ? validateInvoke(body, modelId) : validateConverse(body);
    if (invalid !== undefined) return fail(400, 'ValidationException', invalid);

    // Computed lazily: error and reset steps never reach the model, so they must not touch the cache.
    const usage = (): CacheResult => simulateCache(modelId, isInvoke ? invokeCacheBlocks(body) : converseCacheBlocks(body), cache);

    const invokeReply = (content: Record<string, unknown>, deltas: Record<string, unknown>[], stopReason: string, output: number): Reply => {
      const u = usage();
      const wire = {
        input_tokens: u.uncached, cache_creation_input_tokens: u.write, cache_read_input_tokens: u.read,
        cache_creation: { ephemeral_5m_input_tokens: u.ttl === '5m' ? u.write : 0, ephemeral_1h_input_tokens: u.ttl === '1h' ? u.write : 0 },
      };
      const message = { id: nextMsgId(), type: 'message', role: 'assistant', model: claudeModelName(modelId) };
      if (!stream) {
        const full = { ...message, content: [content], stop_reason: stopReason, stop_sequence: null, usage: { ...wire, output_tokens: output } };
        return { kind: 'json', status: 200, text: JSON.stringify(full) };
      }
      const start = content.type === 'text' ? { type: 'text', text: '' } : { ...content, input: {} };
      return {
        kind: 'frames',
        frames: [
          chunkFrame({ type: 'message_start', message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...wire, output_tokens: 1 } } }),
          chunkFrame({ type: 'content_block_start', index: 0, content_block: start }),
          ...deltas.map((delta) => chunkFrame({ type: 'content_block_delta', index: 0, delta })),
          chunkFrame({ type: 'content_block_stop', index: 0 }),
          chunkFrame({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: output } }),
          chunkFrame({
            type: 'message_stop',
            'amazon-bedrock-invocationMetrics': { inputTokenCount: u.uncached, outputTokenCount: output, invocationLatency: 5, firstByteLatency: 1, cacheReadInputTokenCount: u.read, cacheWriteInputTokenCount: u.write },
          }),
        ],
      };
    };

    const converseReply = (block: Record<string, unknown>, deltas: Record<string, unknown>[], stopReason: string, output: number): Reply => {
      const u = usage();
      const wire = {
        inputTokens: u.uncached, outputTokens: output, totalTokens: u.uncached + u.read + u.write + output,
        cacheReadInputTokens: u.read, cacheWriteInputTokens: u.write, ...(u.write > 0 ? { cacheDetails: [{ ttl: u.ttl, inputTokens: u.write }] } : {}),
      };
      if (!stream) {
        const full = { metrics: { latencyMs: 5 }, output: { message: { role: 'assistant', content: [block] } }, stopReason, usage: wire };
        return { kind: 'json', status: 200, text: JSON.stringify(full) };
      }
      const toolUse = isRecord(block.toolUse) ? block.toolUse : undefined;
      return {
        kind: 'frames',
        frames: [
          eventFrame('messageStart', { p: 'abcdefgh', role: 'assistant' }),
          ...(toolUse === undefined ? [] : [eventFrame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name } }, p: 'abc' })]),
          ...deltas.map((delta) => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta, p: 'abcdefghijkl' })),
          eventFrame('contentBlockStop', { contentBlockIndex: 0, p: 'ab' }),
          eventFrame('messageStop', { stopReason, p: 'abcd' }),
          eventFrame('metadata', { usage: wire, metrics: { latencyMs: 5 }, p: 'abcdef' }),
        ],
      };
    };

    const ok = (): Reply => {
      const output = countWords(replyText);
      return isInvoke
        ? invokeReply({ type: 'text', text: replyText }, wordDeltas(replyText).map((text) => ({ type: 'text_delta', text })), 'end_turn', output)
        : converseReply({ text: replyText }, wordDeltas(replyText).map((text) => ({ text })), 'end_turn', output);
    };
    const tool = (name: string, input: object): Reply => {
      const args = JSON.stringify(input);
      const output = countWords(`${name} ${args}`);
      const id = nextToolId();
      return isInvoke
        ? invokeReply({ type: 'tool_use', id, name, input }, splitInto(args, 3).map((partial_json) => ({ type: 'input_json_delta', partial_json })), 'tool_use', output)
        : converseReply({ toolUse: { toolUseId: id, name, input } }, splitInto(args, 3).map((fragment) => ({ toolUse: { input: fragment } })), 'tool_use', output);
    };
    const streamHeaders = { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId, ...(isInvoke ? { 'x-amzn-bedrock-content-type': 'application/json' } : {}) };

    const deliver = async (reply: Reply, cutAfter?: number, exception?: { type: string; message: string; delayMs?: number }): Promise<void> => {
      if (reply.kind === 'json') {
        if (cutAfter === undefined) return sendJson(ex, reply.status, reply.text, jsonHeaders);
        ex.res.writeHead(reply.status, { ...jsonHeaders, 'content-length': String(Buffer.byteLength(reply.text)) });
        ex.res.flushHeaders();
        await new Promise<void>((resolve) => setImmediate(resolve));
        return ex.selfDestroy('destroy');
      }
      ex.res.writeHead(200, streamHeaders);
      ex.res.flushHeaders();
      const frames = reply.frames.slice(0, cutAfter ?? reply.frames.length);
      if (exception !== undefined) frames.push(exceptionFrame(exception.type, exception.message));
      for (const [i, f] of frames.entries()) {
        if (ex.signal.aborted) return;
        if (i > 0 && (opts.eventDelayMs ?? 0) > 0) await sleep(opts.eventDelayMs ?? 0, ex.signal);
        if (exception?.delayMs !== undefined && i === frames.length - 1) await sleep(exception.delayMs, ex.signal);
        if (ex.signal.aborted) return;
        ex.res.write(f);
      }
      if (cutAfter !== undefined && exception === undefined) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        return ex.selfDestroy('destroy');
      }
      ex.res.end();
    };

    const step = queue.shift() ?? 'ok';
    if (!isExceptionStep(step)) ex.record.step = step;
    if (step === 'ok') return deliver(ok());
    if (!('kind' in step)) return sendStatus(ex, step, jsonHeaders);
    switch (step.kind) {
      case 'exception-in-stream': {
        const message = step.message ?? `Fake ${step.exceptionType}`;
        if (!stream) return fail(ERROR_STATUS[step.exceptionType] ?? 500, upperFirst(step.exceptionType), message);
        return deliver(ok(), step.afterEvents ?? 0, { type: step.exceptionType, message, delayMs: step.delayMs });
      }
      case 'overloaded-in-stream':
        if (!stream) return fail(503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.');
        return deliver(ok(), 0, { type: 'serviceUnavailableException', message: 'Bedrock is unable to process your request.' });
      case 'cut-after':
        return deliver(ok(), step.events);
      case 'stall':
        if (stream) {
          ex.res.writeHead(200, streamHeaders);
          ex.res.flushHeaders();
        }
        return new Promise<void>((resolve) => ex.signal.addEventListener('abort', () => resolve(), { once: true }));
      case 'reset':
        return ex.selfDestroy('reset');
      case 'tool':
        return deliver(tool(step.name, step.input));
      case 'delay':
        await sleep(step.ms, ex.signal);
        return deliver(ok());
    }
  };

  const server = await serve(requests, handler);
  return { url: server.url, requests, script: (steps) => queue.push(...steps), resetCache: () => cache.clear(), close: server.close };
}

const ERROR_STATUS: Record<string, number> = {
  throttlingException: 429, serviceUnavailableException: 503, validationException: 400, internalServerException: 500,
  modelStreamErrorException: 424, modelTimeoutException: 408,
};
const isExceptionStep = (step: BedrockStep): step is InStreamExceptionStep => typeof step === 'object' && 'kind' in step && step.kind === 'exception-in-stream';
const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function sendStatus(ex: Exchange, step: StatusStep, jsonHeaders: Record<string, string>): void {
  const [type, message] = ERROR_TYPES[step.status] ?? [step.status >= 500 ? 'InternalServerException' : 'ValidationException', `Fake error ${step.status}`];
  const headers: Record<string, string> = { ...jsonHeaders, 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...step.headers };
  if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
  const body = step.body === undefined ? { message } : step.body;
  sendJson(ex, step.status, typeof body === 'string' ? body : JSON.stringify(body), headers);
}
