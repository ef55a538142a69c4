/**
 * Which Vertex AI adapter serves a model id, and the URLs of Model Garden's partner and open models,
 * as LiteLLM routes them (litellm/llms/vertex_ai/vertex_ai_partner_models/main.py
 * `is_vertex_partner_model`, `should_use_openai_handler`; vertex_llm_base.py `create_vertex_url`):
 *
 * - Claude (`claude-…`, `anthropic/claude-…`) → `publishers/anthropic/models/{m}:rawPredict`.
 * - Model-as-a-service open models — `meta/…` and anything with `llama`, `deepseek-ai`, `qwen`,
 *   `openai/gpt-oss-` in it → Vertex's OpenAI-compatible endpoint
 *   `/v1/projects/{p}/locations/{l}/endpoints/openapi/chat/completions`, the model id in the body.
 * - Mistral (`mistral-…`, `codestral-…`) → `publishers/mistralai/models/{m}:rawPredict` /
 *   `:streamRawPredict`, `@version` dropped.
 * - Everything else → Gemini on `publishers/google`.
 */
import { joinUrl } from '../shared/upstream-http.js';
import type { VertexTarget } from './endpoint.js';

export type VertexFamily = 'claude' | 'openai-compatible' | 'mistral' | 'gemini';

const OPENAI_COMPATIBLE = ['llama', 'deepseek-ai', 'qwen', 'openai/gpt-oss-'];

export function vertexFamily(model: string): VertexFamily {
  if (/^(anthropic\/)?claude/.test(model)) return 'claude';
  if (model.startsWith('meta/') || OPENAI_COMPATIBLE.some((marker) => model.includes(marker))) return 'openai-compatible';
  if (model.startsWith('mistral') || model.startsWith('codestral')) return 'mistral';
  return 'gemini';
}

type Location = Pick<VertexTarget, 'base' | 'project' | 'location'>;

export function vertexOpenApiUrl(target: Location): string {
  return joinUrl(target.base, `/v1/projects/${target.project}/locations/${target.location}/endpoints/openapi/chat/completions`);
}

/** Mistral's model id on Vertex without the `@version` suffix LiteLLM strips. */
export function mistralModelId(model: string): string {
  return model.split('@')[0] ?? model;
}

export function vertexMistralUrl(target: Location, model: string, stream: boolean): string {
  const method = stream ? 'streamRawPredict' : 'rawPredict';
  return joinUrl(target.base, `/v1/projects/${target.project}/locations/${target.location}/publishers/mistralai/models/${mistralModelId(model)}:${method}`);
}
