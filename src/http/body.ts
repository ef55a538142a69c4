/**
 * Request bodies are read as bytes and parsed once: the parsed JSON drives routing and translation,
 * the bytes are forwarded untouched on the passthrough path. Any content type is read as JSON,
 * because curl users forget `-H content-type`.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../core/errors.js';

export interface ParsedBody {
  raw: Buffer;
  json: unknown;
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, raw: Buffer, done) => {
    if (raw.length === 0) {
      done(null, { raw, json: undefined } satisfies ParsedBody);
      return;
    }
    try {
      done(null, { raw, json: JSON.parse(raw.toString('utf8')) as unknown } satisfies ParsedBody);
    } catch (err) {
      done(
        new GatewayError({
          code: 'invalid_request',
          status: 400,
          message: `The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
        }),
        undefined,
      );
    }
  });
}
