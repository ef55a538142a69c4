/**
 * Which OTLP trace exporters `litellm_settings.callbacks` asks for, and where they send, from the
 * standard OpenTelemetry environment variables (and the names LiteLLM's otel callback also reads:
 * OTEL_ENDPOINT, OTEL_HEADERS — see OpenTelemetryConfig.from_env in litellm/integrations/opentelemetry.py).
 */

/** LiteLLM callbacks Tollgate serves with its OTLP/HTTP trace exporter. */
export const OTEL_CALLBACKS = ['otel', 'langfuse_otel'] as const;
export type OtelCallback = (typeof OTEL_CALLBACKS)[number];

export type Sampler = { kind: 'always_on' } | { kind: 'always_off' } | { kind: 'ratio'; ratio: number };

export interface ExporterSettings {
  callback: OtelCallback;
  /** Full URL the ExportTraceServiceRequest is POSTed to. */
  url: string;
  headers: Record<string, string>;
  /** `resource.attributes`: service.name plus OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, string>;
  sampler: Sampler;
  /** A client's traceparent decides (sampled flag) instead of the sampler: the `parentbased_*` samplers. */
  parentBased: boolean;
  /** Which records are exported: `success_callback` only gets successes, `failure_callback` failures. */
  outcomes: { success: boolean; failure: boolean };
  /** BatchSpanProcessor's knobs (OTEL_BSP_*), defaults as the OTel SDKs'. */
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  exportTimeoutMs: number;
}

export interface CallbackSettings {
  callbacks?: string | string[] | undefined;
  success_callback?: string | string[] | undefined;
  failure_callback?: string | string[] | undefined;
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** `k1=v1,k2=v2` with percent-encoded values (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES). */
export function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: keep it as written.
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

/** A base endpoint gets `/v1/traces`; one already naming it (LiteLLM's OTEL_ENDPOINT examples do) is kept. */
function tracesUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return /\/v1\/traces$/.test(trimmed) ? trimmed : `${trimmed}/v1/traces`;
}

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isInteger(n) && n > 0 ? n : fallback;
}

function samplerFrom(env: NodeJS.ProcessEnv, warnings: string[]): { sampler: Sampler; parentBased: boolean } {
  const name = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase() ?? 'parentbased_always_on';
  const parentBased = name.startsWith('parentbased_');
  const base = parentBased ? name.slice('parentbased_'.length) : name;
  if (base === 'always_on') return { sampler: { kind: 'always_on' }, parentBased };
  if (base === 'always_off') return { sampler: { kind: 'always_off' }, parentBased };
  if (base === 'traceidratio') {
    const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
    const ratio = arg === undefined ? 1 : Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      warnings.push(`OTEL_TRACES_SAMPLER_ARG=${arg ?? ''} is not a ratio between 0 and 1; sampling every trace`);
      return { sampler: { kind: 'always_on' }, parentBased };
    }
    return { sampler: { kind: 'ratio', ratio }, parentBased };
  }
  warnings.push(`OTEL_TRACES_SAMPLER=${name} is not supported (always_on, always_off, traceidratio and their parentbased_ forms are); sampling every trace`);
  return { sampler: { kind: 'always_on' }, parentBased: true };
}

/** The OTLP target of each callback: the standard variables for `otel`, Langfuse's for `langfuse_otel`. */
function targetOf(callback: OtelCallback, env: NodeJS.ProcessEnv, warnings: string[]): { url: string; headers: Record<string, string> } | undefined {
  if (callback === 'langfuse_otel') {
    const publicKey = nonEmpty(env.LANGFUSE_PUBLIC_KEY);
    const secretKey = nonEmpty(env.LANGFUSE_SECRET_KEY);
    if (publicKey === undefined || secretKey === undefined) {
      warnings.push('callback langfuse_otel needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY; no traces are sent to Langfuse');
      return undefined;
    }
    // LiteLLM's langfuse_otel: LANGFUSE_OTEL_HOST, else LANGFUSE_HOST, else Langfuse Cloud; Basic auth.
    const host = nonEmpty(env.LANGFUSE_OTEL_HOST) ?? nonEmpty(env.LANGFUSE_HOST) ?? 'https://cloud.langfuse.com';
    const withScheme = /^https?:\/\//.test(host) ? host : `https://${host}`;
    return { url: `${withScheme.replace(/\/+$/, '')}/api/public/otel/v1/traces`, headers: { authorization: `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}` } };
  }
  const explicit = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) ?? nonEmpty(env.OTEL_ENDPOINT);
  if (explicit === undefined && base === undefined) {
    warnings.push('callback otel is on but OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is not set; no traces are exported');
    return undefined;
  }
  const protocol = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (protocol !== undefined && protocol !== 'http/json' && protocol !== 'otlp_http') {
    warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: Tollgate exports traces as OTLP/HTTP JSON only (collectors accept it on their HTTP port, 4318)`);
  }
  const headers = { ...parseKeyValues(env.OTEL_HEADERS), ...parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  return { url: explicit ?? tracesUrl(base ?? ''), headers };
}

/** One settings object per OTLP callback the config names (none when tracing is off). */
export function resolveOtelExporters(settings: CallbackSettings, env: NodeJS.ProcessEnv): { exporters: ExporterSettings[]; warnings: string[] } {
  const warnings: string[] = [];
  // The SDKs' kill switch, honoured so one variable turns tracing off without a config change.
  if (nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') return { exporters: [], warnings };
  const all = new Set(list(settings.callbacks));
  const onSuccess = new Set(list(settings.success_callback));
  const onFailure = new Set(list(settings.failure_callback));
  const resource = { ...parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES), 'service.name': nonEmpty(env.OTEL_SERVICE_NAME) ?? 'tollgate' };
  const exporters: ExporterSettings[] = [];
  for (const callback of OTEL_CALLBACKS) {
    const outcomes = { success: all.has(callback) || onSuccess.has(callback), failure: all.has(callback) || onFailure.has(callback) };
    if (!outcomes.success && !outcomes.failure) continue;
    const target = targetOf(callback, env, warnings);
    if (target === undefined) continue;
    exporters.push({
      callback,
      ...target,
      resource,
      ...samplerFrom(env, warnings),
      outcomes,
      maxQueueSize: positiveInt(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048),
      maxExportBatchSize: positiveInt(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
      scheduledDelayMs: positiveInt(env.OTEL_BSP_SCHEDULE_DELAY, 5000),
      exportTimeoutMs: positiveInt(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? env.OTEL_BSP_EXPORT_TIMEOUT, 10000),
    });
  }
  return { exporters, warnings: [...new Set(warnings)] };
}
