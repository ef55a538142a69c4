/**
 * Request logs must never carry a key: `/key/info?key=sk-…` and `/key/sk-…/regenerate` put one in
 * the URL, which fastify's default request serializer logs verbatim. This serializer logs the same
 * fields with every `sk-…` in the URL masked to its last four characters (LiteLLM's `key_name`).
 */
import type { FastifyRequest } from 'fastify';

const KEY_IN_URL = /sk-[A-Za-z0-9_\-.~%]+/g;

export function redactKeys(text: string): string {
  return text.replace(KEY_IN_URL, (key) => `sk-...${key.slice(-4)}`);
}

export function redactedRequestLog(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactKeys(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Fastify logger serializers for the gateway (the app's and any test's logger use the same ones). */
export const requestLogSerializers = { req: redactedRequestLog };
