/**
 * Request bodies are read as bytes and parsed once: the parsed JSON drives routing and translation,
 * the bytes are forwarded untouched on the passthrough path. Any content type is read as JSON,
 * because curl users forget `-H content-type`.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../core/errors.js';
import { checkJsonDepth, DEFAULT_MAX_JSON_DEPTH } from '../core/json-depth.js';

export interface ParsedBody {
  raw: Buffer;
  json: unknown;
}

/**
 * `maxJsonDepth` (general_settings.max_json_depth) is checked here, right after the parse, so every
 * route — generations, count_tokens, the native ones, admin — is covered before any recursive walk
 * of the body can overflow the stack.
 */
export function registerJsonBodyParser(app: FastifyInstance, maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, raw: Buffer, done) => {
    if (raw.length === 0) {
      done(null, { raw, json: undefined } satisfies ParsedBody);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8')) as unknown;
    } catch (err) {
      done(errors.invalidRequest(`The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`), undefined);
      return;
    }
    try {
      checkJsonDepth(json, maxJsonDepth);
    } catch (err) {
      done(err instanceof Error ? err : errors.internal(String(err)), undefined);
      return;
    }
    done(null, { raw, json } satisfies ParsedBody);
  });
}
