/**
 * Every non-Claude Bedrock model (and Claude when `bedrock/converse/…` asks for it) through Converse
 * and ConverseStream. No client speaks Converse, so there is no passthrough: requests are translated
 * from the canonical model and answers back into it.
 */
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import { randomUUID } from 'node:crypto';
import { tryParseJson } from '../../core/json.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { estimateRequestTokens, tokenizerReady } from '../shared/token-estimate.js';
import { readBody, type ResponseBody } from '../shared/upstream-http.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';
import { toConverseBody } from './converse-request.js';
import { ConverseStreamDecoder, parseConverseResponse, type ConverseMeta } from './converse-response.js';
import { eventStreamBatches } from './event-stream.js';
import { frameError } from './invoke-stream.js';
import { parseJsonBody } from './invoke-adapter.js';
import { bedrockModelId } from './model-id.js';
import { bedrockEmbed } from './embeddings.js';
import { BEDROCK_PROVIDER, modelPath, type BedrockTransport } from './transport.js';

export class BedrockConverseAdapter implements ProviderAdapter {
  readonly name = BEDROCK_PROVIDER;

  constructor(private readonly transport: BedrockTransport) {}

  /** Embedding models (Titan, Cohere Embed) are not Converse models: they go through InvokeModel (embeddings.ts). */
  embed(request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse> {
    return bedrockEmbed(this.transport, request, call);
  }

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const modelId = bedrockModelId(call.upstreamModel);
    const { body, cacheWriteTtl } = toConverseBody({ ...request, stream: false }, modelId, call.deployment.defaultMaxTokens);
    const response = await this.transport.post(modelPath(modelId, 'converse'), JSON.stringify(body), call, false);
    const json = parseJsonBody(await readBody(response.body, BEDROCK_PROVIDER, response.url));
    return parseConverseResponse(json, { id: requestId(response.headers), model: modelId, cacheWriteTtl });
  }

  async stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const modelId = bedrockModelId(call.upstreamModel);
    const { body, cacheWriteTtl } = toConverseBody({ ...request, stream: true }, modelId, call.deployment.defaultMaxTokens);
    const response = await this.transport.post(modelPath(modelId, 'converse-stream'), JSON.stringify(body), call, true);
    return decodeConverseStream(response.body, { id: requestId(response.headers), model: modelId, cacheWriteTtl }, response.url);
  }

  /** Bedrock's count-tokens covers only some models; Converse models get the local estimate. */
  countTokens(request: CanonicalRequest): Promise<number> {
    return tokenizerReady().then(() => estimateRequestTokens(request));
  }
}

function requestId(headers: Record<string, string>): string {
  return headers['x-amzn-requestid'] ?? `bdrk-${randomUUID()}`;
}

export async function* decodeConverseStream(body: ResponseBody, meta: ConverseMeta, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new ConverseStreamDecoder(meta);
  for await (const batch of eventStreamBatches(body, BEDROCK_PROVIDER, url)) {
    for (const message of batch) {
      if (message.messageType !== 'event') {
        yield { type: 'error', error: frameError(message) };
        return;
      }
      yield* decoder.decode(message.eventType, tryParseJson(message.payload));
    }
  }
}
