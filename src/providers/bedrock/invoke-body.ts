/**
 * Anthropic Messages body → Claude-on-Bedrock InvokeModel body. Bedrock takes the Messages body
 * with three differences: the model is in the URL (a `model` field is rejected), streaming is the
 * URL too (`stream` is rejected), and the API version and betas travel in the body
 * (`anthropic_version: "bedrock-2023-05-31"`, `anthropic_beta: [...]`) instead of headers.
 * Beyond that, what InvokeModel refuses (compat.ts) is dropped or converted with a logged
 * warning; every other field is kept as the client sent it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from '../../core/json.js';
import { adaptClaudeRequest, type CompatResult, type CompatTarget } from '../anthropic/platform-compat.js';
import { BEDROCK_INVOKE_RULES } from './compat.js';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Beta names from `anthropic-beta` header values (comma-separated, possibly repeated). */
export function betasFromHeader(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** The betas a body carries in `anthropic_beta` (an array; a comma-separated string is tolerated). */
export function bodyBetas(body: JsonObject): string[] {
  const given = body.anthropic_beta;
  return Array.isArray(given) ? given.filter((b): b is string => typeof b === 'string') : betasFromHeader(typeof given === 'string' ? given : undefined);
}

/** With no target (no model known) only the model-independent rules apply. */
const UNKNOWN_TARGET: CompatTarget = { modelId: '', deploymentId: '(unknown)' };

/**
 * The InvokeModel body and whether it differs from `body` (native clients' bytes are forwarded as
 * they are when it does not).
 */
export function adaptInvokeBody(body: JsonObject, clientHeaders: IncomingHttpHeaders, target: CompatTarget = UNKNOWN_TARGET): CompatResult {
  const { model: _model, stream: _stream, anthropic_version: version, ...rest } = body;
  const given = bodyBetas(body);
  const betas = [...new Set([...given, ...betasFromHeader(clientHeaders['anthropic-beta'])])];
  const adapted = adaptClaudeRequest(rest, betas, target, BEDROCK_INVOKE_RULES);
  const out: JsonObject = { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...adapted.body };
  if (adapted.betas.length > 0) out.anthropic_beta = adapted.betas;
  else delete out.anthropic_beta;
  const betasSame = adapted.betas.length === given.length && adapted.betas.every((b, i) => b === given[i]) && Array.isArray(body.anthropic_beta) === given.length > 0;
  const bodyChanged =
    adapted.bodyChanged || !betasSame || 'model' in body || 'stream' in body || version !== BEDROCK_ANTHROPIC_VERSION;
  return { ...adapted, body: out, bodyChanged };
}

export function toBedrockAnthropicBody(body: JsonObject, clientHeaders: IncomingHttpHeaders, target?: CompatTarget): JsonObject {
  return adaptInvokeBody(body, clientHeaders, target).body;
}
