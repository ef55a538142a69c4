/**
 * LiteLLM's `x-litellm-*` response headers, built from what the call knows when they are sent.
 * For a stream that is before the first byte: routing facts, not usage or cost.
 */
import type { AttemptRecord, DeploymentRef } from '../core/call-record.js';

export const GATEWAY_VERSION = '0.1.0';

export interface HeaderFacts {
  requestId: string;
  deployment?: DeploymentRef | undefined;
  modelGroup?: string | undefined;
  attempts: readonly AttemptRecord[];
  retries: number;
  fallbacks: number;
  maxRetries: number;
  /** Only for complete (non-streamed) answers. */
  durationMs?: number | undefined;
  overheadMs?: number | undefined;
  /** USD; omitted when unknown (LiteLLM drops empty headers too). */
  costUsd?: number | undefined;
}

export function litellmHeaders(facts: HeaderFacts): Record<string, string> {
  const headers: Record<string, string> = {
    'x-litellm-call-id': facts.requestId,
    'x-litellm-version': GATEWAY_VERSION,
    'x-litellm-attempted-retries': String(facts.retries),
    'x-litellm-max-retries': String(facts.maxRetries),
    'x-litellm-attempted-fallbacks': String(facts.fallbacks),
  };
  if (facts.deployment !== undefined) {
    headers['x-litellm-model-id'] = facts.deployment.id;
    headers['x-litellm-model-name'] = facts.deployment.model;
    if (facts.deployment.apiBase !== undefined) headers['x-litellm-model-api-base'] = stripQuery(facts.deployment.apiBase);
  }
  if (facts.modelGroup !== undefined) headers['x-litellm-model-group'] = facts.modelGroup;
  if (facts.costUsd !== undefined) headers['x-litellm-response-cost'] = String(facts.costUsd);
  if (facts.durationMs !== undefined) headers['x-litellm-response-duration-ms'] = facts.durationMs.toFixed(3);
  if (facts.overheadMs !== undefined) headers['x-litellm-overhead-duration-ms'] = facts.overheadMs.toFixed(3);
  return headers;
}

function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
