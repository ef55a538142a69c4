/**
 * Provider names → adapters. A provider may serve different model families with different adapters
 * (Bedrock: Anthropic InvokeModel vs Converse; Vertex: Claude vs Gemini), so the registry resolves
 * an adapter per deployment. OpenAI-compatible providers LiteLLM knows by name share the OpenAI
 * adapter with their public base URL, so `groq/llama-3.1-8b-instant` works as it does in LiteLLM.
 */
import type { Deployment } from '../core/deployment.js';
import { AnthropicAdapter } from './anthropic/adapter.js';
import { MockAdapter } from './mock/adapter.js';
import { OpenAIAdapter } from './openai/adapter.js';
import type { AdapterSelector, ProviderAdapter } from './types.js';

// Re-exported for callers that named it here; the type lives in types.ts so that provider index
// files can use it without importing the registry that imports them (an import cycle).
export type { AdapterSelector } from './types.js';
import { azureSelector } from './azure/index.js';
import { bedrockSelector } from './bedrock/index.js';
import { geminiSelector } from './gemini/index.js';
import { vertexSelector } from './vertex/index.js';
import { cohereSelector } from './cohere/index.js';
import { TextCompletionAdapter } from './text-completion/adapter.js';

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
  private readonly selectors = new Map<string, AdapterSelector>();

  constructor(now: () => number = Date.now) {
    this.register('anthropic', new AnthropicAdapter());
    this.register('mock', new MockAdapter(now));
    this.register('text-completion-openai', new TextCompletionAdapter());
    for (const [name, defaultBase] of Object.entries(OPENAI_COMPATIBLE)) {
      this.register(name, new OpenAIAdapter({ name, defaultBase, responses: name === 'openai' }));
    }
    const cloud: [string[], AdapterSelector | undefined][] = [
      [['bedrock', 'bedrock_converse'], bedrockSelector],
      [['vertex_ai', 'vertex_ai_beta'], vertexSelector],
      [['gemini'], geminiSelector],
      [['azure'], azureSelector],
      [['cohere', 'cohere_chat'], cohereSelector],
    ];
    for (const [names, selector] of cloud) if (selector !== undefined) for (const name of names) this.register(name, selector);
  }

  register(provider: string, adapter: ProviderAdapter | AdapterSelector): void {
    this.selectors.set(provider, typeof adapter === 'function' ? adapter : () => adapter);
  }

  has(provider: string): boolean {
    return this.selectors.has(provider);
  }

  /** `upstreamModel`: the call's model id, when a wildcard deployment resolved one. */
  forDeployment(deployment: Deployment, upstreamModel: string = deployment.model): ProviderAdapter | undefined {
    return this.selectors.get(deployment.provider)?.(deployment, upstreamModel);
  }

  names(): string[] {
    return [...this.selectors.keys()].sort();
  }
}
