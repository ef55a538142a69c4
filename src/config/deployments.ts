/** `model_list` entries → resolved deployments (provider split off, ids, timeouts in ms). */
import { createHash } from 'node:crypto';
import type { Deployment } from '../core/deployment.js';
import { modelEntrySchema, type ModelEntry, type RawConfig } from './schema.js';

/** LiteLLM's default request timeout is 10 minutes. */
const DEFAULT_TIMEOUT_S = 600;

/** Infer the provider of a bare model name the way LiteLLM does for the common families. */
export function splitProviderModel(model: string): { provider: string | undefined; model: string } {
  const slash = model.indexOf('/');
  if (slash > 0) return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
  if (/^(gpt-|o\d|chatgpt-|text-embedding-|dall-e|whisper|tts-)/.test(model)) return { provider: 'openai', model };
  if (model.startsWith('claude')) return { provider: 'anthropic', model };
  return { provider: undefined, model };
}

export interface DeploymentProblem {
  path: string;
  reason: string;
}

/** Providers' public endpoints, as reported when a deployment configures none. */
const PUBLIC_BASES: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  // OpenAI's legacy /completions, where the text-completion adapter posts by default.
  'text-completion-openai': 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
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

function publicEndpoint(provider: string, params: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  const str = (key: string): string | undefined => (typeof params[key] === 'string' ? params[key] : undefined);
  if (provider === 'bedrock' || provider === 'bedrock_converse') {
    const region = str('aws_region_name') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    return str('aws_bedrock_runtime_endpoint') ?? env.AWS_BEDROCK_RUNTIME_ENDPOINT ?? `https://bedrock-runtime.${region}.amazonaws.com`;
  }
  if (provider === 'vertex_ai' || provider === 'vertex_ai_beta') {
    const location = str('vertex_location') ?? env.VERTEXAI_LOCATION ?? env.VERTEX_LOCATION ?? 'us-central1';
    return location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`;
  }
  if (provider === 'azure') return env.AZURE_API_BASE;
  // The full chat URL, as LiteLLM reports it (its default is https://api.cohere.ai/v2/chat), on the
  // host the Cohere adapter calls (providers/cohere/adapter.ts COHERE_DEFAULT_BASE); config may not
  // import providers, so an operator's COHERE_API_BASE is reported as they wrote it.
  if (provider === 'cohere' || provider === 'cohere_chat') return env.COHERE_API_BASE ?? 'https://api.cohere.com/v2/chat';
  return PUBLIC_BASES[provider];
}

export function buildDeployments(config: RawConfig, env: NodeJS.ProcessEnv = process.env): { deployments: Deployment[]; problems: DeploymentProblem[] } {
  const deployments: Deployment[] = [];
  const problems: DeploymentProblem[] = [];
  const routerTimeout = config.router_settings.timeout ?? config.litellm_settings.request_timeout ?? DEFAULT_TIMEOUT_S;
  config.model_list.forEach((entry, i) => {
    const params = entry.litellm_params;
    const { provider, model } = splitProviderModel(params.model);
    if (provider === undefined) {
      problems.push({ path: `model_list[${i}].litellm_params.model`, reason: `cannot tell the provider of "${params.model}"; write it as provider/model (e.g. openai/${params.model})` });
      return;
    }
    const timeoutS = params.timeout ?? routerTimeout;
    const streamTimeoutS = params.stream_timeout ?? config.router_settings.stream_timeout ?? timeoutS;
    deployments.push({
      id: entry.model_info?.id ?? createHash('sha256').update(JSON.stringify({ model_name: entry.model_name, ...params })).digest('hex'),
      modelGroup: entry.model_name,
      provider,
      model,
      apiBase: params.api_base,
      defaultApiBase: params.api_base === undefined ? publicEndpoint(provider, params, env) : undefined,
      apiKey: params.api_key,
      apiVersion: params.api_version,
      timeoutMs: timeoutS * 1000,
      streamTimeoutMs: streamTimeoutS * 1000,
      defaultMaxTokens: params.max_tokens,
      baseModel: entry.model_info?.base_model,
      maxInputTokens: entry.model_info?.max_input_tokens,
      params,
      modelInfo: entry.model_info,
    });
  });
  return { deployments, problems };
}

/** A deployment stored with `/model/new`, credentials already decrypted. */
export interface StoredModel {
  model_id: string;
  model_name: string;
  litellm_params: Readonly<Record<string, unknown>>;
  model_info: Readonly<Record<string, unknown>>;
}

/**
 * Stored models → deployments, through the same path as the config file's `model_list` (the same
 * `os.environ/NAME` references, validation, defaults and timeouts). An entry that cannot be used
 * is left out with a problem naming it by id.
 */
export function buildStoredDeployments(config: RawConfig, stored: readonly StoredModel[], env: NodeJS.ProcessEnv = process.env): { deployments: Deployment[]; problems: DeploymentProblem[] } {
  const entries: ModelEntry[] = [];
  const ids: string[] = [];
  const problems: DeploymentProblem[] = [];
  for (const m of stored) {
    const path = `stored model ${m.model_id}`;
    const missing: string[] = [];
    const params = resolveEnv(m.litellm_params, env, missing) as Record<string, unknown>;
    if (missing.length > 0) {
      problems.push({ path, reason: `environment variable(s) not set: ${missing.join(', ')}` });
      continue;
    }
    const parsed = modelEntrySchema.safeParse({ model_name: m.model_name, litellm_params: params, model_info: { ...m.model_info, id: m.model_id } });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push({ path, reason: issue === undefined ? 'invalid model' : `${issue.path.join('.')}: ${issue.message}` });
      continue;
    }
    entries.push(parsed.data);
    ids.push(m.model_id);
  }
  const built = buildDeployments({ ...config, model_list: entries }, env);
  for (const p of built.problems) {
    const index = /^model_list\[(\d+)\]/.exec(p.path)?.[1];
    problems.push({ path: `stored model ${index === undefined ? '?' : (ids[Number(index)] ?? '?')}`, reason: p.reason });
  }
  return { deployments: built.deployments, problems };
}

function resolveEnv(value: unknown, env: NodeJS.ProcessEnv, missing: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('os.environ/')) {
    const name = value.slice('os.environ/'.length).trim();
    const resolved = env[name];
    if (resolved === undefined) missing.push(name);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item) => resolveEnv(item, env, missing));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnv(v, env, missing)]));
  return value;
}
