import { GatewayError } from '../../core/errors.js';
import { isObject, tryParseJson, type JsonObject } from '../../core/json.js';

/** A successful upstream body that must be a JSON object; anything else is a retryable 502. */
export function parseJsonBody(bytes: Buffer, provider: string): JsonObject {
  const parsed = tryParseJson(bytes.toString('utf8'));
  if (!isObject(parsed)) {
    throw new GatewayError({ code: 'upstream_error', status: 502, message: `${provider} returned a body that is not JSON`, retryable: true, upstream: { provider } });
  }
  return parsed;
}
