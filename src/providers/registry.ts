/**
 * Provider names → adapters. OpenAI-compatible providers LiteLLM knows by name share the OpenAI
 * adapter with their public base URL, so `groq/llama-3.1-8b-instant` works as it does in LiteLLM.
 */
import { AnthropicAdapter } from './anthropic/adapter.js';
import { MockAdapter } from './mock/adapter.js';
import { OpenAIAdapter } from './openai/adapter.js';
import type { ProviderAdapter } from './types.js';

const OPENAI_COMPATIBLE: Record<string, string | undefined> = {
  openai: 'https://api.openai.com/v1',
  hosted_vllm: undefined,
  vllm: undefined,
  openai_like: undefined,
  custom_openai: undefined,
  lm_studio: 'http://localhost:1234/v1',
  groq: 'https://api.groq.com/openai/v1',
  together_ai: 'https://api.together.xyz/v1',
  deepseek: 'https://api.deepseek.com/v1',
  fireworks_ai: 'https://api.fireworks.ai/inference/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  xai: 'https://api.x.ai/v1',
  mistral: 'https://api.mistral.ai/v1',
  perplexity: 'https://api.perplexity.ai',
  deepinfra: 'https://api.deepinfra.com/v1/openai',
  cerebras: 'https://api.cerebras.ai/v1',
};

/** Providers of LiteLLM's that Tollgate does not speak yet: named in the startup error. */
export const PLANNED_PROVIDERS = ['bedrock', 'bedrock_converse', 'vertex_ai', 'vertex_ai_beta', 'gemini', 'azure', 'azure_ai'];

export class ProviderRegistry {
  private readonly adapters = new Map<string, ProviderAdapter>();

  constructor(now: () => number = Date.now) {
    this.adapters.set('anthropic', new AnthropicAdapter());
    this.adapters.set('mock', new MockAdapter(now));
    for (const [name, defaultBase] of Object.entries(OPENAI_COMPATIBLE)) {
      this.adapters.set(name, new OpenAIAdapter({ name, defaultBase }));
    }
  }

  get(name: string): ProviderAdapter | undefined {
    return this.adapters.get(name);
  }

  names(): string[] {
    return [...this.adapters.keys()].sort();
  }
}
