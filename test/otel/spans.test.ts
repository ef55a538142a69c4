/**
 * The span builder, the exporter's queue and sampling, and settings resolution, on call records
 * built by hand (no gateway): W3C traceparent parenting, GenAI attributes, drop-oldest, the
 * once-a-minute failure log, Langfuse's endpoint and auth.
 */
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { resolveOtelExporters, type ExporterSettings } from '../../src/observability/otel/config.js';
import { OtlpTraceExporter } from '../../src/observability/otel/exporter.js';
import { parseTraceparent, spansOf } from '../../src/observability/otel/spans.js';
import { attrs, type ReceivedSpan } from './otlp-receiver.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function record(over: Partial<CallRecord> = {}): CallRecord {
  return {
    requestId: 'req-1', callId: 'call-1', responseId: 'msg_01', surface: 'anthropic-messages', route: '/v1/messages', stream: true,
    startedAt: T0 + 0.25, endedAt: T0 + 1500.5, durationMs: 1500.25,
    principal: { isMaster: false, keyHash: 'h'.repeat(64), keyAlias: 'ci-key', teamId: 'team-a', userId: 'u-1' },
    requestedModel: 'claude', modelGroup: 'claude',
    deployment: { id: 'claude-1', modelGroup: 'claude', provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5', apiBase: 'https://user:pw@bedrock.example.com:8443/v1?token=secret' },
    attempts: [
      { deploymentId: 'claude-0', startedAt: T0 + 10, durationMs: 20, outcome: 'failure', status: 529, errorCode: 'overloaded', errorMessage: 'Overloaded' },
      { deploymentId: 'claude-1', startedAt: T0 + 40, durationMs: 1400, outcome: 'success' },
    ],
    retries: 1, fallbacks: 0, outcome: 'success', httpStatus: 200, clientDisconnected: false,
    usage: { inputUncached: 10, cacheRead: 200, cacheWrite5m: 30, cacheWrite1h: 4, output: 50, reasoning: 7 },
    upstreamModel: 'anthropic.claude-sonnet-4-5', costNanoUsd: 123_456, sessionId: 'sess-1', passthrough: false,
    ...over,
  };
}

function settings(over: Partial<ExporterSettings> = {}): ExporterSettings {
  return {
    callback: 'otel', url: 'http://collector.invalid/v1/traces', headers: {}, resource: { 'service.name': 'tollgate' },
    sampler: { kind: 'always_on' }, parentBased: true, outcomes: { success: true, failure: true },
    maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 60_000, exportTimeoutMs: 1000, ...over,
  };
}

/** An exporter whose fetch keeps the posted spans (or fails). */
function capture(s: ExporterSettings, fail = false, now?: () => number) {
  const posts: ReceivedSpan[][] = [];
  const logs: string[] = [];
  const exporter = new OtlpTraceExporter(s, {
    log: (m) => logs.push(m),
    now,
    lookupDeployment: (id) => (id === 'claude-0' ? { provider: 'anthropic', model: 'claude-sonnet-4-5', apiBase: 'https://api.anthropic.com' } : undefined),
    fetch: (_url, init) => {
      if (fail) return Promise.reject(new Error('connect ECONNREFUSED'));
      const body = JSON.parse(init?.body as string) as { resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[] };
      posts.push(body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans)));
      return Promise.resolve(new Response('{}', { status: 200 }));
    },
  });
  return { exporter, posts, logs };
}

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses W3C traceparent and rejects malformed ones', () => {
    expect(parseTraceparent(`00-${PARENT_TRACE}-${PARENT_SPAN}-01`)).toEqual({ traceId: PARENT_TRACE, spanId: PARENT_SPAN, sampled: true });
    expect(parseTraceparent(`00-${PARENT_TRACE.toUpperCase()}-${PARENT_SPAN}-00`)).toEqual({ traceId: PARENT_TRACE, spanId: PARENT_SPAN, sampled: false });
    // A later version may append fields; version 00 may not.
    expect(parseTraceparent(`01-${PARENT_TRACE}-${PARENT_SPAN}-01-extra`)?.traceId).toBe(PARENT_TRACE);
    for (const bad of [undefined, '', `00-${PARENT_TRACE}-${PARENT_SPAN}-01-extra`, `ff-${PARENT_TRACE}-${PARENT_SPAN}-01`, `00-${'0'.repeat(32)}-${PARENT_SPAN}-01`, `00-${PARENT_TRACE}-${'0'.repeat(16)}-01`, `00-${PARENT_TRACE.slice(1)}-${PARENT_SPAN}-01`, `00-${PARENT_TRACE}-${PARENT_SPAN}-0x`]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it("a record carrying the client's traceparent becomes a child span in the client's trace", async () => {
    const { exporter, posts } = capture(settings());
    exporter.record({ ...record(), traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    exporter.record(record({ callId: 'call-2' }));
    await exporter.close();
    const [withParent, without] = posts[0]!.filter((s) => s.kind === 2);
    expect(withParent!.traceId).toBe(PARENT_TRACE);
    expect(withParent!.parentSpanId).toBe(PARENT_SPAN);
    expect(without!.traceId).not.toBe(PARENT_TRACE);
    expect(without!.parentSpanId).toBeUndefined();
  });

  it('parent-based sampling follows the sampled flag; the ratio sampler keeps about its share', async () => {
    const off = capture(settings({ sampler: { kind: 'always_off' } }));
    off.exporter.record({ ...record(), traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    off.exporter.record(record());
    const on = capture(settings());
    on.exporter.record({ ...record(), traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-00` });
    await Promise.all([off.exporter.close(), on.exporter.close()]);
    expect(off.posts.flat().filter((s) => s.kind === 2).map((s) => s.traceId)).toEqual([PARENT_TRACE]);
    expect(on.posts).toHaveLength(0);

    const quarter = capture(settings({ sampler: { kind: 'ratio', ratio: 0.25 }, parentBased: false, maxQueueSize: 10_000, maxExportBatchSize: 10_000 }));
    for (let i = 0; i < 4000; i++) quarter.exporter.record(record());
    expect(quarter.exporter.stats.queued).toBeGreaterThan(800);
    expect(quarter.exporter.stats.queued).toBeLessThan(1200);
    await quarter.exporter.close();
  });
});

describe('spans of a call record', () => {
  it('carries the GenAI attributes, the record times and one child per attempt', () => {
    const [call, failed, won] = spansOf(record(), { traceId: PARENT_TRACE }, (id) => (id === 'claude-0' ? { provider: 'anthropic', model: 'claude-sonnet-4-5', apiBase: 'https://api.anthropic.com' } : undefined));
    expect(call!.name).toBe('chat claude');
    expect(call!.startTimeUnixNano).toBe('1767323045678250000');
    expect(call!.endTimeUnixNano).toBe('1767323047178500000');
    expect(attrs(call! as ReceivedSpan)).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude', 'gen_ai.response.model': 'anthropic.claude-sonnet-4-5', 'gen_ai.response.id': 'msg_01',
      'gen_ai.provider.name': 'aws.bedrock',
      // 10 uncached + 200 read + 30 + 4 written: all input, as the convention counts it.
      'gen_ai.usage.input_tokens': 244, 'gen_ai.usage.output_tokens': 50, 'gen_ai.usage.total_tokens': 294,
      'gen_ai.usage.cache_read.input_tokens': 200, 'gen_ai.usage.cache_creation.input_tokens': 34,
      'tollgate.usage.cache_creation_5m.input_tokens': 30, 'tollgate.usage.cache_creation_1h.input_tokens': 4, 'tollgate.usage.reasoning.output_tokens': 7,
      'gen_ai.cost.total_cost': 0.000123456,
      'server.address': 'bedrock.example.com', 'server.port': 8443, 'tollgate.deployment.api_base': 'https://bedrock.example.com:8443/v1',
      'session.id': 'sess-1', 'metadata.user_api_key_alias': 'ci-key', 'metadata.user_api_key_team_id': 'team-a', 'tollgate.retries': 1,
    });
    expect(JSON.stringify(call)).not.toMatch(/secret|pw@/);
    expect(call!.status).toBeUndefined();
    expect(failed!.parentSpanId).toBe(call!.spanId);
    expect(failed!.name).toBe('chat claude-sonnet-4-5');
    expect(failed!.status).toEqual({ code: 2, message: 'Overloaded' });
    expect(attrs(failed! as ReceivedSpan)).toMatchObject({ 'error.type': 'overloaded', 'http.response.status_code': 529, 'gen_ai.provider.name': 'anthropic', 'server.address': 'api.anthropic.com', 'server.port': 443 });
    expect(BigInt(failed!.endTimeUnixNano) - BigInt(failed!.startTimeUnixNano)).toBe(20_000_000n);
    expect(attrs(won! as ReceivedSpan)['tollgate.deployment.id']).toBe('claude-1');
  });

  it('a failed call has error status and error.type; unknown cost and usage are left out, never 0', () => {
    const [call] = spansOf(record({ outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit', message: 'slow down' }, usage: {}, costNanoUsd: null, costMissingReason: 'no_price', attempts: [], surface: 'openai-embeddings', requestedModel: 'emb' }), { traceId: PARENT_TRACE }, () => undefined);
    const a = attrs(call!);
    expect(call!.name).toBe('embeddings emb');
    expect(call!.status).toEqual({ code: 2, message: 'slow down' });
    expect(a['error.type']).toBe('rate_limit');
    expect(a['tollgate.cost_missing_reason']).toBe('no_price');
    for (const key of ['gen_ai.cost.total_cost', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens']) expect(a[key], key).toBeUndefined();
  });
});

describe('the exporter queue', () => {
  it('drops the oldest calls beyond the queue size and counts them', async () => {
    const { exporter, posts } = capture(settings({ maxQueueSize: 3 }));
    for (let i = 0; i < 5; i++) exporter.record(record({ callId: `c${i}` }));
    expect(exporter.stats.dropped).toBe(2);
    await exporter.close();
    expect(posts.flat().filter((s) => s.kind === 2).map((s) => attrs(s)['tollgate.call_id'])).toEqual(['c2', 'c3', 'c4']);
  });

  it('logs failed exports at most once a minute and never throws', async () => {
    let now = 0;
    const { exporter, logs } = capture(settings({ maxExportBatchSize: 1 }), true, () => now);
    for (let i = 0; i < 3; i++) exporter.record(record());
    await exporter.flush();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('ECONNREFUSED');
    now = 61_000;
    exporter.record(record());
    await exporter.close();
    expect(logs).toHaveLength(2);
    expect(logs[1]).toContain('3 failed exports since the last report');
    expect(exporter.stats).toMatchObject({ failed: 4, exported: 0, requests: 4 });
  });

  it('success_callback only exports successes', async () => {
    const { exporter, posts } = capture(settings({ outcomes: { success: true, failure: false } }));
    exporter.record(record({ outcome: 'failure', httpStatus: 500 }));
    exporter.record(record());
    await exporter.close();
    expect(posts.flat().filter((s) => s.kind === 2)).toHaveLength(1);
  });
});

describe('settings', () => {
  it('otel: the standard variables, LiteLLM’s OTEL_ENDPOINT / OTEL_HEADERS as fallbacks', () => {
    const base = resolveOtelExporters({ callbacks: 'otel' }, { OTEL_ENDPOINT: 'https://api.honeycomb.io/v1/traces', OTEL_HEADERS: 'x-honeycomb-team=abc', OTEL_SERVICE_NAME: 'gw' });
    expect(base.exporters[0]).toMatchObject({ url: 'https://api.honeycomb.io/v1/traces', headers: { 'x-honeycomb-team': 'abc' }, resource: { 'service.name': 'gw' }, maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 5000 });
    const std = resolveOtelExporters({ success_callback: ['otel'] }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_ENDPOINT: 'http://ignored', OTEL_EXPORTER_OTLP_HEADERS: 'a=1', OTEL_HEADERS: 'a=2,b=3', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
    expect(std.exporters[0]).toMatchObject({ url: 'http://c:4318/v1/traces', headers: { a: '1', b: '3' }, sampler: { kind: 'ratio', ratio: 0.1 }, parentBased: false, outcomes: { success: true, failure: false } });
    expect(resolveOtelExporters({ callbacks: ['prometheus'] }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).exporters).toEqual([]);
    expect(resolveOtelExporters({ callbacks: ['otel'] }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).exporters).toEqual([]);
    expect(resolveOtelExporters({ callbacks: ['otel'] }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).warnings.join()).toContain('JSON only');
  });

  it('langfuse_otel: Langfuse’s OTLP endpoint with Basic auth from its keys', () => {
    const { exporters } = resolveOtelExporters({ callbacks: ['langfuse_otel'] }, { LANGFUSE_PUBLIC_KEY: 'pk-lf-1', LANGFUSE_SECRET_KEY: 'sk-lf-2', LANGFUSE_HOST: 'https://lf.example.com/' });
    expect(exporters[0]).toMatchObject({ callback: 'langfuse_otel', url: 'https://lf.example.com/api/public/otel/v1/traces', headers: { authorization: `Basic ${Buffer.from('pk-lf-1:sk-lf-2').toString('base64')}` } });
    expect(resolveOtelExporters({ callbacks: ['langfuse_otel'] }, {}).warnings.join()).toContain('LANGFUSE_PUBLIC_KEY');
  });
});
