/**
 * `litellm_settings.callbacks: ["otel"]` through a real gateway: every call becomes one span on a
 * loopback OTLP/HTTP receiver carrying the call record's numbers, upstream attempts are child
 * spans, spans travel in batches, shutdown flushes what is queued, and ratio 0 sends nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';
import { attrs, startOtlpReceiver, waitFor, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const MASTER = 'sk-master-otel';
let receiver: OtlpReceiver;
let primary: FakeUpstream;
let secondary: FakeUpstream;
let gw: TestGateway | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
  primary = await startFakeOpenAI();
  secondary = await startFakeOpenAI();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await Promise.all([receiver.close(), primary.close(), secondary.close()]);
});

function yaml(callbacks = '["otel"]'): string {
  return `
model_list:
  - model_name: gpt
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${primary.url}/v1", api_key: sk-openai-fake }
    model_info: { id: gpt-1 }
  - model_name: pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${primary.url}/v1", api_key: sk-openai-fake, order: 1 }
    model_info: { id: pool-primary }
  - model_name: pool
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${secondary.url}/v1", api_key: sk-openai-fake, order: 2 }
    model_info: { id: pool-secondary }
  - model_name: badkey
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${primary.url}/v1", api_key: sk-wrong }
    model_info: { id: badkey-1 }
router_settings: { retry_after: 0 }
litellm_settings: { callbacks: ${callbacks} }
general_settings: { master_key: ${MASTER} }
`;
}

interface ChatAnswer {
  status: number;
  callId: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

async function chat(model: string, headers: Record<string, string> = {}): Promise<ChatAnswer> {
  const res = await fetch(`${gw!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }] }),
  });
  const body = (await res.json()) as { usage?: ChatAnswer['usage'] };
  return { status: res.status, callId: res.headers.get('x-litellm-call-id') ?? '', usage: body.usage };
}

const callSpans = (): ReceivedSpan[] => receiver.spans().filter((s) => s.kind === 2);
const nanos = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

describe('otel callback', () => {
  it('one span per call with the call record’s numbers, sent in batches, the rest flushed on shutdown', async () => {
    gw = await startGateway(yaml(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-otlp-team=blue%20team,x-other=1',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
      OTEL_BSP_SCHEDULE_DELAY: '60000',
    });
    expect(gw.gateway.warnings.join('\n')).not.toContain('otel');
    const answers: ChatAnswer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await chat('gpt'));
    answers.push(await chat('badkey'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 401]);
    await waitForCalls(gw.gateway, 5);
    const records = gw.gateway.calls.records();
    // Batches of two calls leave at once; the fifth waits for the (one minute) timer…
    await waitFor(() => receiver.posts.length === 2, 'two full batches');
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.posts).toHaveLength(2);
    // …and is flushed by shutdown, which Gateway.close() awaits.
    await gw.close();
    gw = undefined;
    expect(receiver.posts).toHaveLength(3);
    expect(receiver.posts.map((p) => p.spans.filter((s) => s.kind === 2).length)).toEqual([2, 2, 1]);
    for (const post of receiver.posts) {
      expect(post.path).toBe('/v1/traces');
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.headers['x-otlp-team']).toBe('blue team');
      expect(post.resource['service.name']).toBe('tollgate');
    }

    const spans = callSpans();
    expect(spans).toHaveLength(5);
    // gpt-4o-mini at $0.15 / $0.60 per million tokens; the fake counts words: 2 in, 4 out.
    const cost = (2 * 0.15 + 4 * 0.6) / 1e6;
    for (const answer of answers.slice(0, 4)) {
      const span = spans.find((s) => attrs(s)['tollgate.request_id'] === answer.callId);
      expect(span, answer.callId).toBeDefined();
      const a = attrs(span!);
      expect(span!.name).toBe('chat gpt');
      expect(a['gen_ai.operation.name']).toBe('chat');
      expect(a['gen_ai.request.model']).toBe('gpt');
      expect(a['gen_ai.response.model']).toBe('gpt-4o-mini');
      expect(a['gen_ai.provider.name']).toBe('openai');
      expect(a['gen_ai.usage.input_tokens']).toBe(answer.usage?.prompt_tokens);
      expect(a['gen_ai.usage.output_tokens']).toBe(answer.usage?.completion_tokens);
      expect(a['gen_ai.usage.input_tokens']).toBe(2);
      expect(a['gen_ai.usage.output_tokens']).toBe(4);
      expect(a['gen_ai.cost.total_cost']).toBeCloseTo(cost, 15);
      const record = records.find((r) => r.requestId === answer.callId)!;
      expect(a['gen_ai.cost.total_cost']).toBe(record.costNanoUsd! / 1e9);
      expect(a['tollgate.call_id']).toBe(record.callId);
      expect(a['tollgate.deployment.id']).toBe('gpt-1');
      expect(a['server.address']).toBe('127.0.0.1');
      expect(a['server.port']).toBe(Number(new URL(primary.url).port));
      expect(a['http.response.status_code']).toBe(200);
      expect(span!.status).toBeUndefined();
      expect(a['gen_ai.response.id']).toMatch(/^chatcmpl-/);
      expect(span!.parentSpanId).toBeUndefined();
    }
    const failed = spans.find((s) => attrs(s)['tollgate.request_id'] === answers[4]!.callId)!;
    expect(failed.status?.code).toBe(2);
    expect(attrs(failed)['error.type']).toBe('authentication');
    expect(attrs(failed)['http.response.status_code']).toBe(401);
    expect(attrs(failed)['gen_ai.usage.output_tokens']).toBeUndefined();
  });

  it('span times, ids and attempts match the call record; a retried call has one child span per attempt', async () => {
    gw = await startGateway(yaml(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`, OTEL_BSP_SCHEDULE_DELAY: '20' });
    primary.script([{ status: 500 }]);
    const answer = await chat('pool');
    expect(answer.status).toBe(200);
    await waitForCalls(gw.gateway, 1);
    const record = gw.gateway.calls.records()[0]!;
    await waitFor(() => receiver.posts.length === 1, 'the export');
    expect(receiver.posts[0]!.path).toBe('/custom/traces');
    const [call, ...children] = receiver.spans();
    expect(call!.kind).toBe(2);
    expect(BigInt(call!.startTimeUnixNano)).toBe(nanos(record.startedAt));
    expect(BigInt(call!.endTimeUnixNano)).toBe(nanos(record.endedAt));
    expect(attrs(call!)['tollgate.call_id']).toBe(record.callId);
    expect(attrs(call!)['tollgate.deployment.id']).toBe('pool-secondary');
    expect(attrs(call!)['tollgate.attempts']).toBe(2);
    expect(attrs(call!)['tollgate.retries']).toBe(record.retries);
    expect(attrs(call!)['tollgate.fallbacks']).toBe(record.fallbacks);
    expect(call!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(call!.spanId).toMatch(/^[0-9a-f]{16}$/);

    expect(children).toHaveLength(2);
    for (const child of children) {
      expect(child.kind).toBe(3);
      expect(child.traceId).toBe(call!.traceId);
      expect(child.parentSpanId).toBe(call!.spanId);
    }
    const [first, second] = children;
    expect(attrs(first!)).toMatchObject({ 'tollgate.deployment.id': 'pool-primary', 'tollgate.attempt.outcome': 'failure', 'http.response.status_code': 500, 'server.port': Number(new URL(primary.url).port) });
    expect(first!.status?.code).toBe(2);
    expect(attrs(first!)['error.type']).toBe(record.attempts[0]!.errorCode);
    expect(attrs(second!)).toMatchObject({ 'tollgate.deployment.id': 'pool-secondary', 'tollgate.attempt.outcome': 'success', 'server.port': Number(new URL(secondary.url).port) });
    expect(second!.status).toBeUndefined();
    expect(BigInt(first!.startTimeUnixNano)).toBe(nanos(record.attempts[0]!.startedAt));
    expect(BigInt(second!.endTimeUnixNano)).toBe(nanos(record.attempts[1]!.startedAt + record.attempts[1]!.durationMs));
  });

  it('OTEL_TRACES_SAMPLER=traceidratio with ratio 0 exports nothing', async () => {
    gw = await startGateway(yaml(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', OTEL_BSP_SCHEDULE_DELAY: '10' });
    for (let i = 0; i < 3; i++) expect((await chat('gpt')).status).toBe(200);
    await waitForCalls(gw.gateway, 3);
    await gw.close();
    gw = undefined;
    expect(receiver.posts).toHaveLength(0);
  });

  it('a collector that fails does not fail calls or shutdown; callbacks Tollgate lacks are still named', async () => {
    gw = await startGateway(yaml('["otel", "arize"]'), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '10' });
    expect(gw.gateway.warnings.find((w) => w.includes('callbacks Tollgate does not implement'))).toMatch(/ignored: arize \(/);
    receiver.failNext([503, 503, 503]);
    const logged: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await chat('gpt')).status).toBe(200);
        // One export per call (the 10 ms timer), so three failed exports.
        await waitFor(() => receiver.failures() === 2 - i, 'a failed export');
      }
      await waitForCalls(gw.gateway, 3);
      await gw.close();
      gw = undefined;
    } finally {
      spy.mockRestore();
    }
    expect(receiver.posts).toHaveLength(0);
    // Logged once for the three failures (at most once a minute), never thrown.
    expect(logged.filter((l) => l.includes('exporting traces'))).toEqual([expect.stringContaining('failed: HTTP 503')]);
  });

  it('no endpoint: a startup warning, nothing exported', async () => {
    gw = await startGateway(yaml(), {});
    expect(gw.gateway.warnings.join('\n')).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
  });
});

describe('W3C traceparent', () => {
  const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const CLIENT_SPAN = '00f067aa0ba902b7';
  const header = { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` };

  it('traced: the call span is the client span\'s child, and the upstream\'s parent is the call span', async () => {
    gw = await startGateway(yaml(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '10' });
    expect((await chat('gpt', header)).status).toBe(200);
    await waitFor(() => callSpans().length === 1, 'the call span');
    const span = callSpans()[0]!;
    expect(span).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN });
    expect(primary.requests.at(-1)!.headers.traceparent).toBe(`00-${CLIENT_TRACE}-${span.spanId}-01`);
    // Without the client's header a new trace starts, and the upstream still hangs off the call span.
    expect((await chat('gpt')).status).toBe(200);
    await waitFor(() => callSpans().length === 2, 'the second call span');
    const root = callSpans()[1]!;
    expect(root.parentSpanId ?? '').toBe('');
    expect(primary.requests.at(-1)!.headers.traceparent).toBe(`00-${root.traceId}-${root.spanId}-01`);
  });

  it('not traced: the client\'s traceparent goes upstream as it came; none is made up', async () => {
    gw = await startGateway(yaml('[]'), {});
    expect((await chat('gpt', header)).status).toBe(200);
    expect(primary.requests.at(-1)!.headers.traceparent).toBe(header.traceparent);
    expect((await chat('gpt')).status).toBe(200);
    expect(primary.requests.at(-1)!.headers.traceparent).toBeUndefined();
  });
});
