/**
 * The in-progress state of one admitted request, and the single place its CallRecord is built and
 * handed to the sink — exactly once, whatever path the request took.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { callTrace, traceparentOf, type CallTrace } from '../../core/trace-context.js';
import type { CallRecord, CallRecordSink, DeploymentRef, Principal, Surface } from '../../core/call-record.js';
import { effectiveApiBase, type Deployment } from '../../core/deployment.js';
import type { GatewayError } from '../../core/errors.js';
import type { Usage } from '../../core/usage.js';
import type { AttemptLog } from '../../routing/attempts.js';
import type { CostResult } from '../../accounting/pricing.js';

/** Prices a usage for the deployment that served the call. */
export type CostFunction = (usage: Usage) => CostResult;

export interface CallContextOptions {
  requestId: string;
  surface: Surface;
  route: string;
  stream: boolean;
  /** performance.now() when the request arrived. */
  receivedAt: number;
  userAgent: string | undefined;
  sink: CallRecordSink;
  principal?: Principal | undefined;
  /** The client's headers: only the session ids and `traceparent` are kept (see `sessionHeadersOf`). */
  headers?: IncomingHttpHeaders | undefined;
  /** Traces are exported (observability/otel): the call's span ids are chosen now, for the upstream's `traceparent`. */
  tracing?: boolean | undefined;
}

/** Longer header values are ignored, not cut: a cut id could merge two sessions. */
export const MAX_SESSION_ID_LENGTH = 256;
// LiteLLM's rule for `x-<vendor>-session-id` headers (_GENERIC_SESSION_ID_HEADER_RE /
// _SESSION_ID_VALUE_RE in litellm/proxy/litellm_pre_call_utils.py): the name pattern, and a value of
// at least 8 characters from [A-Za-z0-9_-] so arbitrary vendor headers do not become session ids.
const VENDOR_SESSION_HEADER = /^x-.+-session-id$/;
const VENDOR_SESSION_VALUE = /^[A-Za-z0-9_-]{8,}$/;

/** The session ids a request's headers carry, by how much they outrank the request's metadata. */
export interface SessionHeaderIds {
  /** LiteLLM's chain: `x-litellm-trace-id`, `x-litellm-session-id`, then any `x-<vendor>-session-id`. */
  litellm?: string | undefined;
  /** OpenAI Codex's `session-id` (LiteLLM does not read it). */
  codex?: string | undefined;
}

function usable(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_SESSION_ID_LENGTH ? value : undefined;
}

export function sessionHeadersOf(headers: IncomingHttpHeaders): SessionHeaderIds {
  // LiteLLM's get_chain_id_from_headers order. Claude Code's header is tried before other vendors'
  // so a request carrying several resolves the same way every time (LiteLLM takes dict order).
  let litellm = usable(headers['x-litellm-trace-id']) ?? usable(headers['x-litellm-session-id']);
  const vendor = (name: string): string | undefined => {
    const value = usable(headers[name]);
    return value !== undefined && VENDOR_SESSION_VALUE.test(value) ? value : undefined;
  };
  litellm ??= vendor('x-claude-code-session-id');
  if (litellm === undefined) {
    for (const name of Object.keys(headers)) {
      if (name === 'x-litellm-session-id' || !VENDOR_SESSION_HEADER.test(name)) continue;
      litellm = vendor(name);
      if (litellm !== undefined) break;
    }
  }
  return { litellm, codex: usable(headers['session-id']) };
}

function metadataString(metadata: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = metadata?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The session id of a call. LiteLLM's header chain overwrites the body's `litellm_session_id`
 * (add_litellm_metadata_from_request_headers), so it comes first; then the metadata, as LiteLLM
 * reads it; Codex's `session-id` only where LiteLLM would have made an id up, so every request
 * LiteLLM groups is grouped the same way here.
 */
export function resolveSessionId(headers: SessionHeaderIds, metadata: Record<string, unknown> | undefined, callId: string): string {
  return headers.litellm ?? metadataString(metadata, 'litellm_session_id') ?? metadataString(metadata, 'litellm_trace_id') ?? headers.codex ?? callId;
}

export class CallContext implements AttemptLog {
  readonly attempts: AttemptLog['attempts'] = [];
  retries = 0;
  fallbacks = 0;
  /** Headers admission decided (x-litellm-key-*, x-ratelimit-*), sent with the answer. */
  extraHeaders: Readonly<Record<string, string>> | undefined;
  /** The retries the router may make for this call (`x-litellm-max-retries`), once it has looked. */
  maxRetries: number | undefined;
  principal: Principal = { isMaster: false };
  requestedModel = '';
  modelGroup: string | undefined;
  deployment: DeploymentRef | undefined;
  usage: Usage = {};
  passthrough = false;
  clientDisconnected = false;
  metadata: Record<string, unknown> | undefined;
  upstreamModel: string | undefined;
  /** The answer's own id (`chatcmpl-…`, `msg_…`) once seen: LiteLLM keys its spend log by it. */
  responseId: string | undefined;
  /** Set with the deployment: the one way this call's cost is computed. */
  costOf: CostFunction | undefined;
  /** The end user's `allowed_model_region`, echoed as `x-litellm-model-region`. */
  modelRegion: string | undefined;
  /** Whether the response cache answered (response-cache.ts), and its key for this request. */
  responseCache: 'hit' | 'miss' | undefined;
  cacheKey: string | undefined;
  /** Seconds the answering (or last) attempt was allowed, echoed as `x-litellm-timeout`. */
  timeoutSeconds: number | undefined;
  /** performance.now() when the first byte of the answer was written. */
  private firstByteAt: number | undefined;
  private upstreamStartedAt: number | undefined;
  private upstreamEndedAt: number | undefined;
  private finished = false;
  private readonly finishHooks: ((record: CallRecord) => void)[] = [];

  readonly requestId: string;
  readonly surface: Surface;
  /** The route template (a metrics label: never the client's raw path). */
  readonly route: string;
  readonly stream: boolean;
  /** Wall-clock arrival time. */
  readonly startedAt: number;
  /** performance.now() at arrival. */
  readonly startedMono: number;
  readonly userAgent: string | undefined;
  private readonly sessionHeaders: SessionHeaderIds;
  private readonly traceparent: string | undefined;
  private readonly trace: CallTrace | undefined;
  /** The `traceparent` each upstream request carries: the call's span when traced, else the client's as it came. */
  readonly upstreamTraceparent: string | undefined;
  private readonly sink: CallRecordSink;

  constructor(options: CallContextOptions) {
    this.requestId = options.requestId;
    this.surface = options.surface;
    this.route = options.route;
    this.stream = options.stream;
    this.startedMono = options.receivedAt;
    // The wall clock of arrival, from the monotonic one (the body was read in between).
    this.startedAt = Date.now() - (performance.now() - options.receivedAt);
    this.userAgent = options.userAgent;
    this.sessionHeaders = options.headers === undefined ? {} : sessionHeadersOf(options.headers);
    const traceparent = options.headers?.traceparent;
    this.traceparent = typeof traceparent === 'string' ? traceparent : undefined;
    this.trace = options.tracing === true ? callTrace(this.traceparent) : undefined;
    this.upstreamTraceparent = this.trace === undefined ? this.traceparent : traceparentOf(this.trace);
    this.sink = options.sink;
    if (options.principal !== undefined) this.principal = options.principal;
  }

  useDeployment(deployment: Deployment, modelGroup: string, upstreamModel: string, costOf: CostFunction | undefined): void {
    this.deployment = { id: deployment.id, modelGroup, provider: deployment.provider, model: deployment.model, apiBase: effectiveApiBase(deployment) };
    this.modelGroup = modelGroup;
    this.upstreamModel = upstreamModel;
    this.costOf = costOf;
  }

  /** The cost of the usage known so far. */
  cost(): CostResult | undefined {
    return this.costOf?.(this.usage);
  }

  upstreamStarted(): void {
    this.upstreamStartedAt = performance.now();
  }

  upstreamEnded(): void {
    this.upstreamEndedAt ??= performance.now();
  }

  firstByteSent(): void {
    this.firstByteAt ??= performance.now();
  }

  elapsedMs(): number {
    return performance.now() - this.startedMono;
  }

  upstreamMs(): number | undefined {
    if (this.upstreamStartedAt === undefined) return undefined;
    return (this.upstreamEndedAt ?? performance.now()) - this.upstreamStartedAt;
  }

  /** Run once, with the record, when it is handed over (the in-flight gauge, the router's lease). */
  onFinish(hook: (record: CallRecord) => void): void {
    this.finishHooks.push(hook);
  }

  /** Build and hand over the record. Later calls are ignored: one request, one record. */
  finish(httpStatus: number, error?: GatewayError): CallRecord | undefined {
    if (this.finished) return undefined;
    this.finished = true;
    const endedMono = performance.now();
    const cost = this.cost();
    const callId = randomUUID();
    const record: CallRecord = {
      requestId: this.requestId,
      callId,
      responseId: this.responseId,
      surface: this.surface,
      route: this.route,
      stream: this.stream,
      startedAt: this.startedAt,
      endedAt: this.startedAt + (endedMono - this.startedMono),
      durationMs: endedMono - this.startedMono,
      timeToFirstTokenMs: this.firstByteAt === undefined ? undefined : this.firstByteAt - this.startedMono,
      upstreamMs: this.upstreamMs(),
      principal: this.principal,
      requestedModel: this.requestedModel,
      modelGroup: this.modelGroup,
      deployment: this.deployment,
      attempts: this.attempts,
      retries: this.retries,
      fallbacks: this.fallbacks,
      outcome: error === undefined ? 'success' : 'failure',
      httpStatus,
      error: error === undefined ? undefined : { code: error.code, message: error.message, upstreamType: error.upstream?.type },
      clientDisconnected: this.clientDisconnected,
      usage: this.usage,
      upstreamModel: this.upstreamModel,
      costNanoUsd: cost?.nanoUsd ?? null,
      costMissingReason: cost === undefined ? 'no_deployment' : cost.nanoUsd === null ? cost.reason : undefined,
      userAgent: this.userAgent,
      sessionId: resolveSessionId(this.sessionHeaders, this.metadata, callId),
      metadata: this.metadata,
      passthrough: this.passthrough,
      responseCache: this.responseCache,
      cacheKey: this.cacheKey,
      traceparent: this.traceparent,
      trace: this.trace,
    };
    for (const hook of this.finishHooks) hook(record);
    this.sink.record(record);
    return record;
  }
}
