/**
 * The x-litellm-* headers of a call as far as it has got, plus what admission decided
 * (x-litellm-key-*, x-ratelimit-*). Duration, overhead and cost only for complete answers.
 */
import { litellmHeaders } from '../../observability/headers.js';
import { pythonFloat } from '../../routing/client-controls.js';
import type { CallContext } from './context.js';

export function callHeaders(ctx: CallContext, defaultMaxRetries: number, durationMs?: number): Record<string, string> {
  const upstream = ctx.upstreamMs();
  // Cost is known only for complete answers; a stream carries it in its final usage event.
  const cost = durationMs === undefined ? undefined : ctx.cost();
  const headers = litellmHeaders({
    costUsd: cost?.usd ?? undefined,
    requestId: ctx.requestId,
    deployment: ctx.deployment,
    modelGroup: ctx.modelGroup,
    attempts: ctx.attempts,
    retries: ctx.retries,
    fallbacks: ctx.fallbacks,
    maxRetries: ctx.maxRetries ?? defaultMaxRetries,
    durationMs,
    overheadMs: durationMs === undefined || upstream === undefined ? undefined : Math.max(0, durationMs - upstream),
  });
  if (ctx.modelRegion !== undefined) headers['x-litellm-model-region'] = ctx.modelRegion;
  if (ctx.timeoutSeconds !== undefined) headers['x-litellm-timeout'] = pythonFloat(ctx.timeoutSeconds);
  if (ctx.cacheKey !== undefined) headers['x-litellm-cache-key'] = ctx.cacheKey;
  if (ctx.extraHeaders === undefined) return headers;
  const extra = { ...ctx.extraHeaders };
  // A complete answer's cost is known: the key's spend after this call, as LiteLLM documents it.
  const spendBefore = extra['x-litellm-key-spend'];
  if (spendBefore !== undefined && cost?.nanoUsd != null) extra['x-litellm-key-spend'] = String((Math.round(Number(spendBefore) * 1e9) + cost.nanoUsd) / 1e9);
  return { ...extra, ...headers };
}
