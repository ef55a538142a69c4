/**
 * The one handler of LiteLLM's single-answer endpoints — moderations, image generation, audio
 * transcription and speech, rerank — as embeddings.ts does it: authenticated, validated, aliased
 * and admitted by `routeCall`, routed with retries and fallbacks to the deployments that take the
 * endpoint's wire (the client's bytes, model rewritten), one call record, priced on what LiteLLM
 * prices the endpoint by (accounting/endpoint-pricing.ts). A JSON answer goes back as the upstream
 * sent it; audio and plain-text transcripts stream through with the upstream's content type.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { endpointCost, type EndpointKind } from '../../accounting/endpoint-pricing.js';
import type { Surface } from '../../core/call-record.js';
import type { EndpointUnits } from '../../core/endpoint-units.js';
import { isObject, type JsonObject } from '../../core/json.js';
import { withoutFormFields } from '../../core/multipart.js';
import type { Dialect } from '../../routing/calls.js';
import type { ParsedBody } from '../body.js';
import type { CallDeps } from '../call/deps.js';
import { surfaceErrors } from '../call/errors.js';
import { routeCall } from '../call/generation.js';
import { runCall } from '../call/pipeline.js';
import { openAIChatCodec } from '../surfaces.js';

export interface EndpointSpec {
  surface: Surface;
  /** The route template (a metrics label). */
  route: string;
  dialect: Dialect;
  /** As a 400 names it: "does not serve image generation". */
  endpoint: string;
  kind: EndpointKind;
  validate(body: unknown): JsonObject;
  /** What the request alone tells of the priced units (images and their size, characters). */
  requestUnits?: ((body: JsonObject) => EndpointUnits) | undefined;
}

export function handleEndpoint(spec: EndpointSpec, deps: CallDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const parsed = request.body as ParsedBody;
  const { json, raw } = clientBody(parsed, (request.params as { model?: string } | undefined)?.model, deps);
  // Named before routing: it takes router options out of this very object.
  const formFields = parsed.form !== undefined && isObject(json) ? Object.keys(json) : [];
  return runCall(deps, request, reply, {
    surface: spec.surface,
    route: spec.route,
    stream: false,
    errors: surfaceErrors(openAIChatCodec),
    run: async (ctx, signal) => {
      // What the answering attempt reported beyond tokens; read by the cost function when the record is made.
      let units: EndpointUnits | undefined;
      const { answer, routed, body, remember } = await routeCall(spec, deps, ctx, json, raw, request, signal, (call) => {
        const asked = spec.requestUnits?.(call.body) ?? {};
        return deps.calls.endpoint({
          ...call.base,
          dialect: spec.dialect,
          endpoint: spec.endpoint,
          body: call.body,
          rawBody: parsed.form === undefined ? call.rawBody : formAsRouted(parsed, formFields, call.body),
          onAttempt: (target) => {
            call.base.onAttempt?.(target);
            units = undefined;
            const { deployment, upstreamModel } = target;
            ctx.costOf = (usage) => endpointCost(spec.kind, usage, { ...asked, ...units }, deployment, upstreamModel, deps.pricing);
          },
          onUnits: (reported) => {
            units = reported;
          },
        });
      });
      // Audio and plain-text transcripts are the upstream's bytes with its content type (native), and never
      // kept by the response cache, which stores text.
      const bytes = answer.kind === 'bytes';
      return { answer, routed, send: { body, native: bytes, remember: bytes ? undefined : remember } };
    },
  });
}

/**
 * The body as routing reads it: the path's model wins (LiteLLM's Azure-style
 * `/openai/deployments/{model}/…`). With a response cache, a form's file part is named by its
 * content's hash, so two uploads of the same name and size are not one cache entry.
 */
function clientBody(parsed: ParsedBody, pathModel: string | undefined, deps: CallDeps): { json: unknown; raw: Buffer } {
  if (parsed.form !== undefined) {
    if (deps.responseCache === undefined || !isObject(parsed.json)) return { json: parsed.json, raw: parsed.raw };
    const json: JsonObject = { ...parsed.json };
    for (const part of parsed.form) {
      const file = json[part.name];
      if (part.filename === undefined || !isObject(file)) continue;
      json[part.name] = { ...file, sha256: createHash('sha256').update(parsed.raw.subarray(part.valueStart, part.valueEnd)).digest('hex') };
    }
    return { json, raw: parsed.raw };
  }
  if (pathModel === undefined || pathModel === '' || !isObject(parsed.json) || parsed.json.model === pathModel) return { json: parsed.json, raw: parsed.raw };
  const json = { ...parsed.json, model: pathModel };
  return { json, raw: Buffer.from(JSON.stringify(json)) };
}

/** The client's form without the fields routing took out of the body (router options, credentials, test hooks). */
function formAsRouted(parsed: ParsedBody, fields: readonly string[], body: JsonObject): Buffer {
  const taken = new Set(fields.filter((name) => !(name in body)));
  return parsed.form === undefined ? parsed.raw : withoutFormFields(parsed.raw, parsed.form, taken);
}
