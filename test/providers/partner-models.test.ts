/** Which Vertex adapter a model id gets, and the URLs LiteLLM's vertex_llm_base.py builds for them. */
import { describe, expect, it } from 'vitest';
import { mistralModelId, vertexFamily, vertexMistralUrl, vertexOpenApiUrl } from '../../src/providers/vertex/partner-models.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { Deployment } from '../../src/core/deployment.js';
import { VertexAnthropicAdapter } from '../../src/providers/vertex/anthropic-adapter.js';
import { VertexMistralAdapter } from '../../src/providers/vertex/mistral-adapter.js';
import { VertexOpenAICompatibleAdapter } from '../../src/providers/vertex/openai-compatible-adapter.js';
import { GeminiAdapter } from '../../src/providers/gemini/adapter.js';

const target = { base: 'https://us-east5-aiplatform.googleapis.com', project: 'p1', location: 'us-east5' };

describe('vertexFamily', () => {
  it.each([
    ['claude-sonnet-4-5@20250929', 'claude'],
    ['anthropic/claude-3-5-haiku@20241022', 'claude'],
    ['meta/llama-3.3-70b-instruct-maas', 'openai-compatible'],
    ['meta/llama-4-maverick-17b-128e-instruct-maas', 'openai-compatible'],
    ['qwen/qwen3-coder-480b-a35b-instruct-maas', 'openai-compatible'],
    ['deepseek-ai/deepseek-r1-0528-maas', 'openai-compatible'],
    ['openai/gpt-oss-120b-maas', 'openai-compatible'],
    ['mistral-large-2411@001', 'mistral'],
    ['codestral-2501', 'mistral'],
    ['gemini-2.5-flash', 'gemini'],
    ['gemini-2.0-flash-001', 'gemini'],
  ])('%s → %s', (model, family) => {
    expect(vertexFamily(model)).toBe(family);
  });
});

describe('partner URLs', () => {
  it('MaaS: the OpenAI-compatible endpoint of the project and location (v1)', () => {
    expect(vertexOpenApiUrl(target)).toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/endpoints/openapi/chat/completions');
  });
  it('Mistral: publishers/mistralai, the @version dropped, the method by streaming', () => {
    expect(mistralModelId('mistral-large-2411@001')).toBe('mistral-large-2411');
    expect(vertexMistralUrl(target, 'mistral-large-2411@001', false)).toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/mistralai/models/mistral-large-2411:rawPredict');
    expect(vertexMistralUrl(target, 'codestral-2501', true)).toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/mistralai/models/codestral-2501:streamRawPredict');
  });
});

describe('the registry resolves a vertex_ai/* wildcard per call', () => {
  const wildcard: Deployment = { id: 'w', modelGroup: 'vertex_ai/*', provider: 'vertex_ai', model: '*', timeoutMs: 1000, streamTimeoutMs: 1000, params: {} };
  const registry = new ProviderRegistry();
  it.each([
    ['claude-sonnet-4-5@20250929', VertexAnthropicAdapter],
    ['qwen/qwen3-next-80b-a3b-instruct-maas', VertexOpenAICompatibleAdapter],
    ['mistral-small-2503@001', VertexMistralAdapter],
    ['gemini-2.5-pro', GeminiAdapter],
  ])('%s', (model, type) => {
    expect(registry.forDeployment(wildcard, model)).toBeInstanceOf(type);
  });
  it('passthrough dialects follow the family', () => {
    expect(registry.forDeployment(wildcard, 'meta/llama-3.3-70b-instruct-maas')?.dialects).toEqual(['openai-chat']);
    expect(registry.forDeployment(wildcard, 'claude-sonnet-4-5@20250929')?.dialects).toEqual(['anthropic-messages']);
    expect(registry.forDeployment(wildcard, 'mistral-large-2411@001')?.dialects).toBeUndefined();
  });
  it('knows cohere, cohere_chat and text-completion-openai', () => {
    for (const name of ['cohere', 'cohere_chat', 'text-completion-openai']) expect(registry.has(name)).toBe(true);
  });
});
