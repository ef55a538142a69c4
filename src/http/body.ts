/**
 * Request bodies are read as bytes and parsed once: the parsed JSON drives routing and translation,
 * the bytes are forwarded untouched on the passthrough path. Any content type is read as JSON,
 * because curl users forget `-H content-type` — but `multipart/form-data` (audio transcriptions),
 * whose parts are located in the bytes and only its text fields decoded; both within the one
 * body limit (`max_request_size_mb`), which fastify enforces while reading.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../core/errors.js';
import { checkJsonDepth, DEFAULT_MAX_JSON_DEPTH } from '../core/json-depth.js';
import { boundaryOf, formFields, formParts, type FormPart } from '../core/multipart.js';

export interface ParsedBody {
  raw: Buffer;
  json: unknown;
  /** A multipart form's parts, located in `raw`; `json` is then its fields (files as `{filename, content_type, bytes}`). */
  form?: FormPart[] | undefined;
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
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (request, raw: Buffer, done) => {
    const boundary = boundaryOf(request.headers['content-type']);
    const parts = boundary === undefined ? undefined : formParts(raw, boundary);
    if (parts === undefined) {
      done(errors.invalidRequest('The request body is not valid multipart/form-data (no boundary, or a part that does not end)'), undefined);
      return;
    }
    done(null, { raw, json: formFields(raw, parts), form: parts } satisfies ParsedBody);
  });
}
