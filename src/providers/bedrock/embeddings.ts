/**
 * Bedrock embedding models through InvokeModel, in each family's own body (LiteLLM's
 * litellm/llms/bedrock/embed/): Amazon Titan takes one text per call (`{inputText, dimensions?,
 * normalize?}` → `{embedding, inputTextTokenCount}`), so a list is one call per text, made
 * together; Cohere Embed takes the list (`{texts, input_type, truncate?}` → `{embeddings}`) and
 * reports its tokens in the `X-Amzn-Bedrock-Input-Token-Count` header, as Bedrock does for every
 * InvokeModel answer.
 */
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import { errors } from '../../core/errors.js';
import { asNumber } from '../../core/json.js';
import { textsOf } from '../shared/embedding-input.js';
import { parseJsonBody } from '../shared/json-body.js';
import { readBody } from '../shared/upstream-http.js';
import type { UpstreamCall } from '../types.js';
import { bedrockModelId, foundationModelId } from './model-id.js';
import { BEDROCK_PROVIDER, modelPath, type BedrockTransport } from './transport.js';

/** Cohere Embed on Bedrock takes at most this many texts per call (LiteLLM batches the same way). */
const COHERE_BATCH = 96;

function family(modelId: string): 'titan' | 'cohere' | undefined {
  const base = foundationModelId(modelId);
  if (base.startsWith('amazon.titan-embed')) return 'titan';
  if (base.startsWith('cohere.embed')) return 'cohere';
  return undefined;
}

export async function bedrockEmbed(transport: BedrockTransport, request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse> {
  const modelId = bedrockModelId(call.upstreamModel);
  const kind = family(modelId);
  if (kind === undefined) throw errors.invalidRequest(`${modelId} is not a Bedrock embedding model (amazon.titan-embed-*, cohere.embed-*)`, 'model');
  const texts = textsOf(request, BEDROCK_PROVIDER);
  const invoke = async (body: Record<string, unknown>): Promise<{ json: Record<string, unknown>; headerTokens: number | undefined }> => {
    const response = await transport.post(modelPath(modelId, 'invoke'), JSON.stringify(body), call, false);
    const json = parseJsonBody(await readBody(response.body, BEDROCK_PROVIDER, response.url), 'Bedrock');
    const header = response.headers['x-amzn-bedrock-input-token-count'];
    return { json, headerTokens: header === undefined ? undefined : Number(header) };
  };
  if (kind === 'titan') {
    const params: Record<string, unknown> = {};
    if (request.dimensions !== undefined) params.dimensions = request.dimensions;
    if (typeof request.extra.normalize === 'boolean') params.normalize = request.extra.normalize;
    const answers = await Promise.all(texts.map((inputText) => invoke({ inputText, ...params })));
    const vectors = answers.map(({ json }) => vectorOf(json.embedding));
    const tokens = answers.reduce((sum, { json, headerTokens }) => sum + (asNumber(json.inputTextTokenCount) ?? headerTokens ?? 0), 0);
    return { model: '', vectors, usage: usageOf(tokens) };
  }
  const inputType = typeof request.extra.input_type === 'string' ? request.extra.input_type : 'search_document';
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += COHERE_BATCH) batches.push(texts.slice(i, i + COHERE_BATCH));
  const answers = await Promise.all(
    batches.map((batch) => invoke({ texts: batch, input_type: inputType, ...(typeof request.extra.truncate === 'string' ? { truncate: request.extra.truncate } : {}) })),
  );
  const vectors = answers.flatMap(({ json }) => (Array.isArray(json.embeddings) ? json.embeddings.map(vectorOf) : []));
  if (vectors.length !== texts.length) throw errors.badUpstreamAnswer(`Bedrock answered ${vectors.length} embeddings for ${texts.length} inputs`);
  return { model: '', vectors, usage: usageOf(answers.reduce((sum, { headerTokens }) => sum + (headerTokens ?? 0), 0)) };
}

function vectorOf(value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) throw errors.badUpstreamAnswer('Bedrock answered an embedding without its numbers');
  return value;
}

function usageOf(tokens: number): EmbeddingResponse['usage'] {
  return { inputUncached: tokens, cacheRead: 0, cacheWriteUnknownTtl: 0, output: 0 };
}
