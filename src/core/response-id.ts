/**
 * LiteLLM's managed Responses API ids: the upstream's `resp_…` id wrapped with the provider and the
 * deployment (`model_id`) that stored it — `resp_` + base64("litellm:custom_llm_provider:{p};
 * model_id:{id};response_id:{upstream id}") — so a later `GET /v1/responses/{id}` or a
 * `previous_response_id` reaches the one deployment that can know it, however many serve the
 * model. The same format as LiteLLM's (litellm/responses/utils.py), so ids a client got from a
 * LiteLLM proxy keep working after the switch.
 */
export interface DecodedResponseId {
  provider?: string | undefined;
  deploymentId?: string | undefined;
  /** The id the upstream issued (the input itself when it was not a managed id). */
  responseId: string;
}

const PREFIX = 'litellm:custom_llm_provider:';

export function encodeResponseId(provider: string, deploymentId: string, upstreamId: string): string {
  if (decodeResponseId(upstreamId).deploymentId !== undefined) return upstreamId;
  return `resp_${Buffer.from(`${PREFIX}${provider};model_id:${deploymentId};response_id:${upstreamId}`, 'utf8').toString('base64')}`;
}

export function decodeResponseId(id: string): DecodedResponseId {
  if (!id.startsWith('resp_')) return { responseId: id };
  const decoded = Buffer.from(id.slice(5), 'base64').toString('utf8');
  const match = /^litellm:custom_llm_provider:([^;]*);model_id:([^;]*);response_id:(.+)$/s.exec(decoded);
  if (match === null) return { responseId: id };
  const [, provider, deploymentId, responseId] = match;
  // LiteLLM writes Python's None when it had no deployment id.
  const known = (value: string | undefined): string | undefined => (value === undefined || value === '' || value === 'None' ? undefined : value);
  return { provider: known(provider), deploymentId: known(deploymentId), responseId: responseId ?? id };
}
