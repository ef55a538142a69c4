/**
 * Upstream stream faults through the real server, on the pass-through paths (a surface to its own
 * dialect) and the translated ones (Anthropic surface → OpenAI upstream and back): an SSE event cut
 * in half when the connection closes (the socket destroyed, or the body ended cleanly), an event
 * whose `data:` is not JSON, silence after some events (stream_timeout), gzip and br bodies, and a
 * big fast stream to a slow client (the gateway must not read ahead of it). The client always gets
 * a readable end — its protocol's error event or a clean finish — and one record with the usage seen.
 * Faults before any byte reached the client are upstream-faults.test.ts.
 */
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_REPLY_TEXT, startFaultUpstream, type Encoding, type FaultUpstream } from '../fakes/fault-upstream.js';
import { countWords, wordDeltas } from '../fakes/common.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, parseSse, postJson, recordFor, sleep } from './harness.js';

type Surface = 'openai' | 'anthropic';
const PATH: Record<Surface, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const PROMPT = 'Tell me something nice.';

let gw: TestGateway;
let f1: FaultUpstream;
let f2: FaultUpstream;

beforeAll(async () => {
  [f1, f2] = await Promise.all([startFaultUpstream(), startFaultUpstream()]);
  const oa = (base: string, extra: string): string => `{ model: openai/gpt-4o-mini, api_base: "${base}/v1", api_key: sk-openai-fake${extra} }`;
  const an = (base: string, extra: string): string => `{ model: anthropic/claude-sonnet-4-5, api_base: "${base}", api_key: sk-ant-fake${extra} }`;
  const t = ', timeout: 0.5, stream_timeout: 0.5';
  const entries: [string, string, string][] = [
    ['gpt-s', 'gpt-s-1', oa(f1.url, t)],
    ['claude-s', 'claude-s-1', an(f1.url, t)],
    ['gpt-pair', 'gpt-pair-1', oa(f1.url, `${t}, order: 1`)],
    ['gpt-pair', 'gpt-pair-2', oa(f2.url, `${t}, order: 2`)],
    ['claude-pair', 'claude-pair-1', an(f1.url, `${t}, order: 1`)],
    ['claude-pair', 'claude-pair-2', an(f2.url, `${t}, order: 2`)],
    // No short timeouts: a paused client must not look like a silent upstream.
    ['gpt-big', 'gpt-big-1', oa(f1.url, '')],
  ];
  gw = await startGateway(`
model_list:
${entries.map(([group, id, params]) => `  - model_name: ${group}\n    litellm_params: ${params}\n    model_info: { id: ${id} }`).join('\n')}
router_settings: { disable_cooldowns: true }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([f1.close(), f2.close()]);
});

function body(surface: Surface, model: string, stream: boolean): Record<string, unknown> {
  const messages = [{ role: 'user', content: PROMPT }];
  return surface === 'anthropic' ? { model, max_tokens: 64, messages, stream } : { model, messages, stream };
}

interface Delivered {
  /** Every event's data, parsed; `invalid` holds the data of the ones that are not JSON. */
  json: Record<string, unknown>[];
  invalid: string[];
  text: string;
  done: boolean;
  /** The last event when it is the surface's error event. */
  error: { type?: string; message: string } | undefined;
}

/** Reads a stream the way a client does: text deltas, the end marker, a final error event. */
function delivered(surface: Surface, sse: string): Delivered {
  const json: Record<string, unknown>[] = [];
  const invalid: string[] = [];
  for (const e of parseSse(sse)) {
    if (e.data === '[DONE]') continue;
    try {
      json.push(JSON.parse(e.data) as Record<string, unknown>);
    } catch {
      invalid.push(e.data);
    }
  }
  const text = json.map((e) => {
    const choice = (e.choices as { delta?: { content?: string } }[] | undefined)?.[0];
    return choice?.delta?.content ?? (e.type === 'content_block_delta' ? (e.delta as { text?: string }).text ?? '' : '');
  }).join('');
  const last = json.at(-1);
  const error = (last?.error as { type?: string; message: string } | undefined) ?? undefined;
  const done = surface === 'openai' ? parseSse(sse).some((e) => e.data === '[DONE]') : json.some((e) => e.type === 'message_stop');
  return { json, invalid, text, done, error };
}

/** The first `n` words of the fault server's reply, as its deltas spell them. */
const firstWords = (n: number): string => wordDeltas(FAULT_REPLY_TEXT).slice(0, n).join('');

/** Which upstream dialect a group speaks, and how many whole events of it carry reply text. */
const combos = [
  { surface: 'openai', model: 'gpt-s', upstream: 'openai' },
  { surface: 'anthropic', model: 'claude-s', upstream: 'anthropic' },
  { surface: 'anthropic', model: 'gpt-s', upstream: 'openai' },
  { surface: 'openai', model: 'claude-s', upstream: 'anthropic' },
] as const;
/** In 3 whole events an OpenAI stream has sent 2 words (after the role chunk), an Anthropic one 1 (after message_start, content_block_start). */
const WORDS_IN_3: Record<Surface, number> = { openai: 2, anthropic: 1 };
/** What a record knows of usage mid-answer: Anthropic's message_start carries input and a 1-token placeholder; OpenAI's usage comes only at the end. */
const USAGE_IN_3 = { openai: {}, anthropic: { inputUncached: countWords(PROMPT), output: 1 } };

function expectErrorEvent(surface: Surface, d: Delivered, message: RegExp): void {
  expect(d.error?.message).toMatch(message);
  // Anthropic's error event is typed at both levels; OpenAI's is the envelope with the status code.
  if (surface === 'anthropic') expect(d.json.at(-1)).toMatchObject({ type: 'error', error: { type: expect.any(String) } });
  else expect(d.json.at(-1)).toMatchObject({ error: { type: expect.any(String), code: expect.stringMatching(/^\d{3}$/) } });
}

describe.each(combos)('$surface surface → $model ($upstream upstream)', ({ surface, model, upstream }) => {
  it.each([
    ['destroy', /other side closed/, 'upstream_connection'],
    ['end', /ended before the answer was complete/, 'upstream_error'],
  ] as const)('an event cut in half, then the socket closes (%s): the words before it, an error event, one failure record', async (close, message, code) => {
    f1.script([{ kind: 'truncated', events: 3, close }]);
    const before = f1.requests.length;
    const res = await postJson(gw.url, PATH[surface], body(surface, model, true));
    expect(res.status).toBe(200);
    const d = delivered(surface, await res.text());
    // No half event reaches the client, and nothing is glued to one: every event parses.
    expect(d.invalid).toEqual([]);
    expect(d.text).toBe(firstWords(WORDS_IN_3[upstream]));
    expect(d.done).toBe(false);
    expectErrorEvent(surface, d, message);
    // Bytes already reached the client: no retry.
    expect(f1.requests.length - before).toBe(1);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 502, error: { code }, retries: 0, clientDisconnected: false });
    expect(record.usage).toMatchObject(USAGE_IN_3[upstream]);
    if (upstream === 'openai') expect(record.usage.output).toBeUndefined();
  });

  it('an event whose data is not JSON: the stream still ends cleanly with the whole reply, one success record', async () => {
    f1.script([{ kind: 'invalid-json', events: 3 }]);
    const res = await postJson(gw.url, PATH[surface], body(surface, model, true));
    expect(res.status).toBe(200);
    const d = delivered(surface, await res.text());
    expect(d.text).toBe(FAULT_REPLY_TEXT);
    expect(d.done).toBe(true);
    expect(d.error).toBeUndefined();
    // Pass-through forwards the event as it came (content deltas are never parsed); translation drops it.
    if (surface === upstream) expect(d.invalid).toHaveLength(1);
    else expect(d.invalid).toEqual([]);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200 });
    expect(record.usage).toMatchObject({ inputUncached: countWords(PROMPT), output: countWords(FAULT_REPLY_TEXT) });
  });

  it('silence after 3 events, longer than stream_timeout: a 408 error event, the usage seen so far, one record', async () => {
    f1.script([{ kind: 'stall-after', events: 3 }]);
    const started = Date.now();
    const res = await postJson(gw.url, PATH[surface], body(surface, model, true));
    const d = delivered(surface, await res.text());
    expect(Date.now() - started).toBeLessThan(3000);
    expect(d.text).toBe(firstWords(WORDS_IN_3[upstream]));
    expect(d.done).toBe(false);
    // The idle guard or undici's own body timeout, whichever fires first: both are the timeout class.
    expectErrorEvent(surface, d, /sent nothing for 0.5s|Timed out waiting for/);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: 408, error: { code: 'timeout' } });
    expect(record.usage).toMatchObject(USAGE_IN_3[upstream]);
  });

  it.each([
    ['gzip', false], ['gzip', true], ['br', false], ['br', true],
  ] as [Encoding, boolean][])('a %s-encoded body (stream=%s) reaches the client decoded and is metered', async (encoding, stream) => {
    f1.script([{ kind: 'ok', encoding }]);
    const res = await postJson(gw.url, PATH[surface], body(surface, model, stream));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBeNull();
    if (stream) {
      const d = delivered(surface, await res.text());
      expect(d).toMatchObject({ text: FAULT_REPLY_TEXT, done: true, invalid: [], error: undefined });
    } else {
      const json = (await res.json()) as { choices?: { message: { content: string } }[]; content?: { text: string }[] };
      expect(json.choices?.[0]?.message.content ?? json.content?.[0]?.text).toBe(FAULT_REPLY_TEXT);
    }
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, stream });
    expect(record.usage).toMatchObject({ inputUncached: countWords(PROMPT), output: countWords(FAULT_REPLY_TEXT) });
  });
});

describe('a stream broken before its first event is retried on the next deployment', () => {
  it.each(['openai', 'anthropic'] as const)('%s surface: half an event then a closed socket on the first, a whole answer from the second', async (surface) => {
    f1.script([{ kind: 'truncated', events: 0, close: 'destroy' }]);
    const before = [f1.requests.length, f2.requests.length];
    const res = await postJson(gw.url, PATH[surface], body(surface, surface === 'openai' ? 'gpt-pair' : 'claude-pair', true));
    const d = delivered(surface, await res.text());
    expect(d).toMatchObject({ text: FAULT_REPLY_TEXT, done: true, invalid: [], error: undefined });
    expect([f1.requests.length - before[0]!, f2.requests.length - before[1]!]).toEqual([1, 1]);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', retries: 1 });
    expect(record.attempts.map((a) => [a.outcome, a.status])).toEqual([['failure', 502], ['success', undefined]]);
  });
});

describe('backpressure: a big fast stream to a client that does not read', () => {
  // ~60 MB of SSE, well past what the socket buffers of both hops absorb (~10 MB here, receive
  // buffers autotuned); long words keep the client's bytes per upstream byte near 1 on both surfaces.
  const WORDS = 45_000;
  const WORD_BYTES = 1200;
  const expected = Array.from({ length: WORDS }, (_, i) => `w${i.toString(36)}`.padEnd(WORD_BYTES, 'x')).join(' ');

  function open(surface: Surface): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(`${gw.url}${PATH[surface]}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` } }, resolve);
      req.on('error', reject);
      req.end(JSON.stringify(body(surface, 'gpt-big', true)));
    });
  }

  it.each(['openai', 'anthropic'] as const)('%s surface: the upstream is held back while the client pauses, then all of it arrives, one record', async (surface) => {
    f1.script([{ kind: 'big', words: WORDS, wordBytes: WORD_BYTES }]);
    const res = await open(surface);
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.pause();
    try {
      // Wait for the upstream to stop: blocked on 'drain', nothing more written for 300 ms.
      let last = -1;
      for (let stable = 0, i = 0; stable < 3; i++) {
        expect(i, 'the upstream never stopped writing').toBeLessThan(100);
        await sleep(100);
        stable = f1.stats.waiting && f1.stats.written === last ? stable + 1 : 0;
        last = f1.stats.written;
      }
      expect(f1.stats.total).toBeGreaterThan(50 * 2 ** 20);
      // A gateway reading ahead of its client would have taken the whole stream by now.
      expect(f1.stats.written).toBeLessThan(f1.stats.total / 2);
      expect(f1.stats.done).toBe(false);
    } finally {
      res.resume();
    }
    await new Promise((resolve) => res.on('end', resolve));
    expect(f1.stats).toMatchObject({ done: true, waiting: false });
    const d = delivered(surface, Buffer.concat(chunks).toString('utf8'));
    expect(d.invalid).toEqual([]);
    expect(d.done).toBe(true);
    expect(d.text).toBe(expected);
    const record = await recordFor(gw.gateway, res.headers['x-litellm-call-id'] as string | undefined);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200 });
    expect(record.usage.output).toBe(WORDS);
  }, 30_000);
});
