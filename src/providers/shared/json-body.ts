import { errors } from '../../core/errors.js';
import { isObject, tryParseJson, type JsonObject } from '../../core/json.js';

/** A successful upstream body that must be a JSON object; anything else is a retryable 502. */
export function parseJsonBody(bytes: Buffer, provider: string): JsonObject {
  const parsed = tryParseJson(bytes.toString('utf8'));
  if (!isObject(parsed)) {
    throw errors.badUpstreamAnswer(`${provider} returned a body that is not JSON`, { upstream: { provider } });
  }
  return parsed;
}
