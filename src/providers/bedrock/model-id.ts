/**
 * Bedrock model ids as LiteLLM writes them: `bedrock/<id>`, `bedrock/converse/<id>` (Converse
 * forced), `bedrock/invoke/<id>` (InvokeModel), or provider `bedrock_converse`. The id itself is a
 * foundation model (`anthropic.claude-…`), a cross-region inference profile (`us.anthropic.…`,
 * `global.…`) or an ARN.
 */
export type BedrockApi = 'invoke' | 'converse';

export interface BedrockModelRoute {
  /** The id sent to AWS, without our routing prefix. */
  modelId: string;
  /** The API the configuration asks for, if it asks. */
  forced: BedrockApi | undefined;
}

export function bedrockRoute(provider: string, model: string): BedrockModelRoute {
  const prefix = /^(converse|invoke)\//.exec(model);
  const modelId = prefix === null ? model : model.slice(prefix[0].length);
  const forced = provider === 'bedrock_converse' ? 'converse' : (prefix?.[1] as BedrockApi | undefined);
  return { modelId, forced };
}

/** The id to put in the URL for one call (the call's model may come from a wildcard). */
export function bedrockModelId(upstreamModel: string): string {
  return bedrockRoute('bedrock', upstreamModel).modelId;
}

const GEO_PREFIX = /^(?:us|eu|apac|global|us-gov|jp|au|ca)\./;

/**
 * Claude on Bedrock: `anthropic.*`, a geo inference profile of it, or an ARN naming it. Application
 * inference profile ARNs do not name the model; use `bedrock/invoke/<arn>` for those.
 */
export function isAnthropicModel(modelId: string): boolean {
  if (modelId.startsWith('arn:')) return modelId.includes('anthropic');
  return modelId.replace(GEO_PREFIX, '').startsWith('anthropic.');
}

/** The foundation model behind a geo inference profile (count-tokens takes foundation models only). */
export function foundationModelId(modelId: string): string {
  return modelId.startsWith('arn:') ? modelId : modelId.replace(GEO_PREFIX, '');
}

/** InvokeModel with the Anthropic body serves this deployment's model (Claude, or `bedrock/invoke/…`). */
export function servesInvoke(provider: string, model: string): boolean {
  const { modelId, forced } = bedrockRoute(provider, model);
  return forced === 'invoke' || isAnthropicModel(modelId);
}
