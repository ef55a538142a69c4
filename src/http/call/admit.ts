/**
 * Admission: reserve the request's worst case (input estimated from the body size, plus
 * max_tokens, priced on the most expensive deployment that may serve it) against every budget and
 * limit; the record settles it with the real cost, whatever way the request ends.
 */
import type { JsonObject } from '../../core/json.js';
import { upstreamModelFor, type ResolvedGroup } from '../../routing/router.js';
import type { CallDeps } from './deps.js';
import type { CallContext } from './context.js';

export async function admitCall(deps: Pick<CallDeps, 'policy' | 'pricing' | 'metrics'>, ctx: CallContext, group: ResolvedGroup | undefined, body: JsonObject, rawBody: Buffer): Promise<void> {
  const requested = ctx.requestedModel;
  const admission = await deps.policy.admit({
    principal: ctx.principal,
    requestedModel: requested,
    endUser: typeof body.user === 'string' && body.user !== '' ? body.user : undefined,
    estimatedInputTokens: Math.ceil(rawBody.length / 4),
    maxOutputTokens: [body.max_tokens, body.max_completion_tokens].find((v): v is number => typeof v === 'number'),
    priceNano: (usage) => {
      let worst: number | null = null;
      for (const d of group?.deployments ?? []) {
        const nano = deps.pricing.cost(usage, d, upstreamModelFor(d, requested, group?.wildcardMatch)).nanoUsd;
        if (nano !== null && (worst === null || nano > worst)) worst = nano;
      }
      return worst;
    },
  });
  ctx.principal = admission.principal;
  ctx.extraHeaders = admission.headers;
  // LiteLLM's litellm_remaining_api_key_{requests,tokens}_for_model, from the key's own limits.
  const requests = admission.headers['x-ratelimit-remaining-requests'];
  const tokens = admission.headers['x-ratelimit-remaining-tokens'];
  const keyHash = admission.principal.keyHash;
  if (keyHash !== undefined && (requests !== undefined || tokens !== undefined)) {
    deps.metrics.setKeyModelRemaining({ keyHash, keyAlias: admission.principal.keyAlias }, group?.name ?? requested, undefined, {
      requests: requests === undefined ? undefined : Number(requests),
      tokens: tokens === undefined ? undefined : Number(tokens),
    });
  }
  ctx.onFinish((record) => deps.policy.settle(admission, record));
}
