/**
 * Azure OpenAI: the OpenAI chat wire at `{api_base}/openai/deployments/{deployment}/chat/completions
 * ?api-version=…`, authenticated with `api-key` or an Entra ID bearer token. Bodies, streams, usage
 * and the passthrough tap are OpenAI's (the OpenAI adapter is extended); only the URL, the auth,
 * the stream preamble and a few Azure error shapes differ.
 */
import { errors, GatewayError } from '../../core/errors.js';
import { asObject, asString, tryParseJson } from '../../core/json.js';
import type { Usage } from '../../core/usage.js';
import { OpenAIAdapter, type OpenAIEndpoint, type ResponsesResource } from '../openai/adapter.js';
import { ENDPOINT_PATHS } from '../openai/endpoints.js';
import { OpenAITapInspector } from '../openai/tap.js';
import { joinUrl, type UpstreamResponse } from '../shared/upstream-http.js';
import type { UpstreamCall } from '../types.js';

/** Used when neither `api_version` nor AZURE_API_VERSION is set: a version with stream usage and reasoning_effort. */
export const AZURE_DEFAULT_API_VERSION = '2025-04-01-preview';

export class AzureAdapter extends OpenAIAdapter {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    // Azure OpenAI serves images and audio under the deployment's path, but no moderations.
    super({
      name: 'azure',
      defaultBase: undefined,
      responses: true,
      dialects: ['openai-chat', 'openai-responses', 'openai-responses-compact', 'openai-embeddings', 'openai-images', 'openai-audio-transcriptions', 'openai-audio-speech'],
    });
  }

  protected override async post(call: UpstreamCall, body: string | Buffer, stream: boolean, endpoint: OpenAIEndpoint = 'chat', resource: ResponsesResource = {}): Promise<{ response: UpstreamResponse; url: string }> {
    try {
      return await super.post(call, body, stream, endpoint, resource);
    } catch (err) {
      throw refineAzureError(err);
    }
  }

  protected override tapInspector(clientWantsUsage: boolean, annotate: ((usage: Usage) => Record<string, unknown> | undefined) | undefined): OpenAITapInspector {
    return new AzureTapInspector(clientWantsUsage, annotate);
  }

  /** Azure's own headers next to OpenAI's (request ids, the region that answered). */
  protected override forwardedHeaders(headers: Record<string, string>): Record<string, string> {
    const out = super.forwardedHeaders(headers);
    for (const name of ['apim-request-id', 'x-ms-region', 'x-ms-deployment-name']) {
      const value = headers[name];
      if (value !== undefined) out[`llm_provider-${name}`] = value;
    }
    return out;
  }

  /**
   * Chat: the deployment in the path. Responses: one path for the resource, the deployment named
   * by the body's `model`; the `v1`/`latest`/`preview` API versions live under `/openai/v1/`
   * without an api-version (as LiteLLM's Azure Responses config builds it).
   */
  protected override url(call: UpstreamCall, endpoint: OpenAIEndpoint = 'chat', resource: ResponsesResource = {}): string {
    const base = call.deployment.apiBase ?? this.env.AZURE_API_BASE;
    if (base === undefined || base === '') throw configError(call, 'has no api_base (https://<resource>.openai.azure.com)');
    const version = call.deployment.apiVersion ?? this.env.AZURE_API_VERSION ?? AZURE_DEFAULT_API_VERSION;
    const root = base.replace(/\/openai(\/v1)?\/?$/, '');
    if (endpoint === 'responses') {
      const path = `/responses${resource.suffix ?? ''}`;
      const query = resource.query === undefined || resource.query === '' ? '' : resource.query;
      if (version === 'v1' || version === 'latest' || version === 'preview') return joinUrl(root, `/openai/v1${path}${query === '' ? '' : `?${query}`}`);
      return joinUrl(root, `/openai${path}?api-version=${encodeURIComponent(version)}${query === '' ? '' : `&${query}`}`);
    }
    // `/openai/deployments/{d}/chat/completions`, `…/embeddings`, `…/images/generations`, `…/audio/speech`, …
    const path = `/openai/deployments/${encodeURIComponent(call.upstreamModel)}${ENDPOINT_PATHS[endpoint]}?api-version=${encodeURIComponent(version)}`;
    return joinUrl(root, path);
  }

  /** `api-key` when a key is configured, else an Entra ID token as a bearer. */
  protected override headers(call: UpstreamCall): Record<string, string> {
    const key = call.deployment.apiKey ?? this.env.AZURE_API_KEY;
    if (key !== undefined && key !== '') return { 'api-key': key };
    const token = str(call.deployment.params.azure_ad_token) ?? this.env.AZURE_AD_TOKEN;
    if (token !== undefined && token !== '') return { authorization: `Bearer ${token.replace(/^Bearer\s+/i, '')}` };
    throw configError(call, 'has no credentials: set api_key (or AZURE_API_KEY) or azure_ad_token (or AZURE_AD_TOKEN)');
  }
}

/**
 * OpenAI's tap, plus Azure's preamble: the prompt_filter_results chunk (no choices yet) that opens
 * every stream is not the answer, so an error right after it is still "before the first byte".
 */
export class AzureTapInspector extends OpenAITapInspector {
  isPreamble(raw: string): boolean {
    return raw.includes('"prompt_filter_results"') && raw.includes('"choices":[]');
  }
}

/** A prompt stopped by Azure's content filter is a 400 with `code: "content_filter"`: a policy refusal, not a malformed request. */
function refineAzureError(err: unknown): unknown {
  if (!(err instanceof GatewayError) || err.upstream?.body === undefined) return err;
  const error = asObject(asObject(tryParseJson(err.upstream.body))?.error);
  if (asString(error?.code) !== 'content_filter' && asString(error?.code) !== 'ResponsibleAIPolicyViolation') return err;
  return errors.contentPolicy(err.message, { param: asString(error?.param), upstream: { ...err.upstream, type: 'content_filter' } });
}

function configError(call: UpstreamCall, problem: string): GatewayError {
  return errors.misconfigured(`Deployment ${call.deployment.id} (azure) ${problem}`);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
