/** `model_list` entries → resolved deployments (provider split off, ids, timeouts in ms). */
import { createHash } from 'node:crypto';
import type { Deployment } from '../core/deployment.js';
import type { RawConfig } from './schema.js';

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

export function buildDeployments(config: RawConfig): { deployments: Deployment[]; problems: DeploymentProblem[] } {
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
      apiKey: params.api_key,
      apiVersion: params.api_version,
      timeoutMs: timeoutS * 1000,
      streamTimeoutMs: streamTimeoutS * 1000,
      defaultMaxTokens: params.max_tokens,
      baseModel: entry.model_info?.base_model,
      maxInputTokens: entry.model_info?.max_input_tokens,
      params,
    });
  });
  return { deployments, problems };
}
