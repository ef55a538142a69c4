/**
 * Bedrock-shaped clients (Claude Code with CLAUDE_CODE_USE_BEDROCK, the AWS SDKs) calling the
 * gateway's `/bedrock/model/{id}/…` routes: their body is already an InvokeModel or Converse body,
 * so it goes up as the client's own bytes (re-serialised only when compat.ts must drop something),
 * re-signed with the deployment's credentials, and the answer comes back as AWS's own bytes — JSON,
 * or the binary event stream chunk for chunk — while the frames are decoded on the side for usage,
 * errors and the end of the answer.
 */
import { randomUUID } from 'node:crypto';
import { asArray, asObject, isObject, tryParseJson, type JsonObject } from '../../core/json.js';
import type { Usage } from '../../core/usage.js';
import type { CompatTarget } from '../anthropic/platform-compat.js';
import { AnthropicTapInspector } from '../anthropic/tap.js';
import { parseAnthropicUsage } from '../anthropic/usage.js';
import { rewriteTopLevel } from '../shared/body-rewrite.js';
import { scanAnswer } from '../shared/json-scan.js';
import { tapFrames, type FrameHandler } from '../shared/tap-loop.js';
import { readBody, type ResponseBody } from '../shared/upstream-http.js';
import type { StreamTap, UpstreamCall } from '../types.js';
import type { CacheWriteTtl } from './converse-request.js';
import { ConverseStreamDecoder, parseConverseUsage } from './converse-response.js';
import { decodeFrame, EventStreamFraming, type EventStreamMessage } from './event-stream.js';
import { adaptInvokeBody } from './invoke-body.js';
import { anthropicEventType, chunkEventJson, frameError } from './invoke-stream.js';
import { bedrockModelId } from './model-id.js';
import { BEDROCK_PROVIDER, modelPath, type BedrockTransport } from './transport.js';

export type NativeBedrockAction = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

/** What a native Bedrock call answers: AWS's own bytes, with the usage read on the side. */
export type BedrockNativeAnswer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer; usage: Usage; model?: string | undefined }
  | { kind: 'stream'; status: number; headers: Record<string, string>; chunks: AsyncIterable<Buffer>; tap: StreamTap };

export function isStreamingAction(action: NativeBedrockAction): boolean {
  return action.endsWith('-stream');
}

/** Upstream headers a native client may read (AWS request id, Bedrock's own token counts). */
export function nativeResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-type' || name === 'x-amzn-requestid' || name.startsWith('x-amzn-bedrock-')) out[name] = value;
  }
  return out;
}

export class BedrockNativeClient {
  constructor(private readonly transport: BedrockTransport) {}

  /**
   * Forward one native call. `raw` is the client's body; `body` the same parsed. Anthropic betas
   * travel in the body for InvokeModel; Bedrock ignores an `anthropic-beta` header, and so do we.
   */
  async call(action: NativeBedrockAction, raw: Buffer, body: JsonObject, call: UpstreamCall): Promise<BedrockNativeAnswer> {
    const modelId = bedrockModelId(call.upstreamModel);
    const invoke = action.startsWith('invoke');
    let payload: Buffer | string = raw;
    if (invoke) {
      const target: CompatTarget = { modelId, deploymentId: call.deployment.id };
      const adapted = adaptInvokeBody(body, {}, target);
      // Only the members compat.ts changes are edited; the rest are the client's bytes.
      if (adapted.bodyChanged) payload = rewriteTopLevel(raw, body, adapted.body) ?? JSON.stringify(adapted.body);
    }
    const stream = isStreamingAction(action);
    const response = await this.transport.post(modelPath(modelId, action), payload, call, stream);
    const headers = nativeResponseHeaders(response.headers);
    const isEventStream = response.headers['content-type']?.includes('application/vnd.amazon.eventstream') === true;
    if (!stream || !isEventStream) {
      const bytes = await readBody(response.body, BEDROCK_PROVIDER, response.url);
      // InvokeModel answers are Anthropic's: usage read from the tail of the bytes when it can be.
      const scanned = invoke ? scanAnswer(bytes) : undefined;
      if (scanned !== undefined) return { kind: 'json', status: response.status, headers, body: bytes, usage: parseAnthropicUsage(scanned.usage), model: scanned.model };
      const parsed = asObject(tryParseJson(bytes.toString('utf8')));
      const usage = invoke ? parseAnthropicUsage(parsed?.usage) : parseConverseUsage(parsed?.usage, converseWriteTtl(body));
      return { kind: 'json', status: response.status, headers, body: bytes, usage, model: typeof parsed?.model === 'string' ? parsed.model : undefined };
    }
    const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
    const observe = invoke ? invokeObserver(tap) : converseObserver(tap, modelId, converseWriteTtl(body));
    return { kind: 'stream', status: response.status, headers, tap, chunks: forwardFrames(response.body, observe, tap, response.url) };
  }
}

/**
 * The upstream's chunks, unchanged, through the one tap loop in watch-only mode: every frame they
 * complete is decoded and observed. An exception frame is the platform's own error message to the
 * client: it is forwarded too, and recorded in the tap.
 */
function forwardFrames(body: ResponseBody, observe: (message: EventStreamMessage) => void, tap: StreamTap, url: string): AsyncIterable<Buffer> {
  const handler: FrameHandler = {
    observeOnly: true,
    frame(buffer, start, end) {
      const message = decodeFrame(buffer, start, end, BEDROCK_PROVIDER);
      if (message.messageType !== 'event') tap.error = frameError(message);
      else observe(message);
      return undefined;
    },
  };
  // Watch-only: the loop yields the upstream's chunks themselves, which are Buffers.
  return tapFrames(body, new EventStreamFraming(BEDROCK_PROVIDER), handler, tap, BEDROCK_PROVIDER, url) as AsyncIterable<Buffer>;
}

/** InvokeModel stream: each `chunk` holds one Anthropic event, watched by the Anthropic tap on its type. */
function invokeObserver(tap: StreamTap): (message: EventStreamMessage) => void {
  const inspector = new AnthropicTapInspector();
  return (message) => {
    if (message.eventType !== 'chunk') return;
    const json = chunkEventJson(message.payload);
    if (json !== undefined) inspector.onEvent(anthropicEventType(json), () => json, tap);
  };
}

/** ConverseStream: usage from `metadata`, the end from `messageStop`, an in-band error from the decoder. */
function converseObserver(tap: StreamTap, modelId: string, ttl: CacheWriteTtl): (message: EventStreamMessage) => void {
  const decoder = new ConverseStreamDecoder({ id: randomUUID(), model: modelId, cacheWriteTtl: ttl });
  return (message) => {
    if (message.eventType !== 'messageStart' && message.eventType !== 'metadata') tap.answerStarted = true;
    for (const event of decoder.decode(message.eventType, tryParseJson(message.payload))) {
      if (event.type === 'usage') tap.usage = event.usage;
      else if (event.type === 'finish') tap.completed = true;
    }
  };
}

/** The TTL a Converse request's cache points ask for (Bedrock's default is 5 minutes). */
export function converseWriteTtl(body: JsonObject): CacheWriteTtl {
  const ttls = new Set<string>();
  const visit = (blocks: unknown): void => {
    for (const block of asArray(blocks) ?? []) {
      const point = isObject(block) ? asObject(block.cachePoint) : undefined;
      if (point !== undefined) ttls.add(point.ttl === '1h' ? '1h' : '5m');
    }
  };
  visit(body.system);
  visit(asObject(body.toolConfig)?.tools);
  for (const message of asArray(body.messages) ?? []) visit(asObject(message)?.content);
  if (ttls.size > 1) return 'unknown';
  return ttls.has('1h') ? '1h' : '5m';
}
