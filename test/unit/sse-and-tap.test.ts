/**
 * SSE framing and the passthrough tap (principle 3): the client receives the upstream's bytes,
 * untouched, however the network chunked them; usage is read on the side; only the final usage event
 * is rewritten (cost) and only the gateway-added usage chunk is dropped. OpenAI chunks are the one
 * exception: they reach the client in LiteLLM's shape (null members removed, the usage chunk's empty
 * choices filled), checked against an independent JSON-level reading of that shape.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/core/json.js';
import { parseSseEvent, SseSplitter } from '../../src/core/sse.js';
import { usageCounts, type Usage } from '../../src/core/usage.js';
import { AnthropicTapInspector } from '../../src/providers/anthropic/tap.js';
import { OpenAITapInspector } from '../../src/providers/openai/tap.js';
import { tapSseStream, type EventInspector } from '../../src/providers/shared/stream-tap.js';
import type { FrameHandler } from '../../src/providers/shared/tap-loop.js';
import type { StreamTap } from '../../src/providers/types.js';
import { bodyOf, cassette, chunksToSse, completionCalls, drain, fixtureChunks, splitAt, splitEvery, splitRandom, sseEventsOf } from './fixtures.js';

const anthropicSse = (file: string): string => completionCalls(cassette('anthropic', file))[0]?.sse ?? '';
const openaiSse = (i: number): string => completionCalls(cassette('openai', 'test_run_stream_sync_streams_real_model.yaml'))[i]?.sse ?? '';

interface Case {
  name: string;
  sse: () => string;
  inspector: (annotate?: (u: Usage) => Record<string, unknown> | undefined) => EventInspector | FrameHandler;
  usage: ReturnType<typeof usageCounts>;
  model: string;
  /** What the client must receive for one upstream event's JSON (undefined: nothing); identity unless the stream is OpenAI. */
  shape?: Shape;
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, stripNulls(v)]])));
  }
  return value;
}

type Shape = (data: JsonObject) => JsonObject | undefined;

/**
 * LiteLLM's chunk, computed from the parsed upstream chunk: exclude_none; a usage-only chunk carries
 * one empty choice; a chunk with neither choices nor usage (Azure's prompt_filter_results) is not sent.
 */
function litellmChunk(data: JsonObject): JsonObject | undefined {
  if (!('choices' in data)) return data;
  const chunk = stripNulls(data) as JsonObject;
  const choices = chunk.choices as unknown[];
  const hasUsage = typeof chunk.usage === 'object';
  if (choices.length === 0 && !hasUsage) return undefined;
  if (choices.length === 0) chunk.choices = [{ index: 0, delta: {} }];
  return chunk;
}

const jsonOf = (e: { event: { data: string } | undefined } | undefined): JsonObject | string => {
  const data = e?.event?.data ?? '';
  return data === '[DONE]' ? data : (JSON.parse(data) as JsonObject);
};

/**
 * `out` is `input` event for event, each shaped by `shape`; events the shape does not change are
 * forwarded byte for byte (a chunk is edited only when it carries something LiteLLM would not send).
 */
function expectShaped(out: string, input: string, shape: Shape, how = ''): void {
  const before = sseEventsOf(input)
    .filter((e) => e.raw.trim() !== '')
    .flatMap((e) => {
      const original = jsonOf(e);
      const expected = typeof original === 'string' ? original : shape(original);
      return expected === undefined ? [] : [{ raw: e.raw, original, expected }];
    });
  const after = sseEventsOf(out).filter((e) => e.raw.trim() !== '');
  expect(after.length, how).toBe(before.length);
  before.forEach((b, i) => {
    expect(jsonOf(after[i]), `${how} event ${i}`).toEqual(b.expected);
    if (JSON.stringify(b.expected) === JSON.stringify(b.original)) expect(after[i]?.raw, `${how} event ${i} untouched`).toBe(b.raw);
  });
}

const CASES: Case[] = [
  {
    name: 'Anthropic compaction cassette (4-byte emoji, padded JSON)',
    sse: () => anthropicSse('test_anthropic_compaction_usage_with_cache_streaming.yaml'),
    inspector: (a) => new AnthropicTapInspector(a),
    // message_delta usage.iterations summed: input 100+181, cache_read 55096, output 83+8
    usage: { inputUncached: 281, cacheRead: 55096, cacheWrite5m: 0, cacheWrite1h: 0, output: 91 },
    model: 'claude-sonnet-4-6',
  },
  {
    name: 'Anthropic thinking cassette',
    sse: () => anthropicSse('test_anthropic_model_thinking_part_stream.yaml'),
    inspector: (a) => new AnthropicTapInspector(a),
    // message_delta usage: input_tokens 43, output_tokens 282
    usage: { inputUncached: 43, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 282 },
    model: 'claude-sonnet-4-20250514',
  },
  {
    name: 'Anthropic code-execution chunks as SSE',
    sse: () => chunksToSse('anthropic', fixtureChunks('anthropic', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt')),
    inspector: (a) => new AnthropicTapInspector(a),
    // message_delta: input 6, cache_creation 3337 (5m per message_start), cache_read 6289, output 198
    usage: { inputUncached: 6, cacheRead: 6289, cacheWrite5m: 3337, cacheWrite1h: 0, output: 198, reasoning: 0 },
    model: 'claude-sonnet-5',
  },
  {
    name: 'Anthropic clear-thinking chunks as SSE (2-byte ÷)',
    sse: () => chunksToSse('anthropic', fixtureChunks('anthropic', 'anthropic-clear-thinking.1.chunks.txt')),
    inspector: (a) => new AnthropicTapInspector(a),
    // message_delta usage: input 69, output 53
    usage: { inputUncached: 69, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: 53 },
    model: 'claude-sonnet-4-5-20250929',
  },
  {
    name: 'OpenAI run_stream #0 (tool call)',
    sse: () => openaiSse(0),
    inspector: (a) => new OpenAITapInspector(true, a),
    // usage chunk: prompt_tokens 53, cached 0, completion 15
    usage: { inputUncached: 53, cacheRead: 0, output: 15, reasoning: 0 },
    model: 'gpt-4o-mini-2024-07-18',
    shape: litellmChunk,
  },
  {
    name: 'OpenAI azure chunks as SSE',
    sse: () => chunksToSse('openai', fixtureChunks('openai', 'azure-model-router.1.chunks.txt')),
    inspector: (a) => new OpenAITapInspector(true, a),
    // usage chunk: prompt_tokens 15, completion 78, reasoning 64
    usage: { inputUncached: 15, cacheRead: 0, output: 78, reasoning: 64 },
    model: 'gpt-5-nano-2025-08-07',
    shape: litellmChunk,
  },
];

function newTap(): StreamTap {
  return { usage: {}, completed: false, events: 0, answerStarted: false };
}

async function runTap(chunks: Uint8Array[], inspector: EventInspector | FrameHandler): Promise<{ out: Buffer; tap: StreamTap }> {
  const tap = newTap();
  const out = await drain(tapSseStream(bodyOf(chunks), inspector, tap, 'test', 'http://upstream.test'));
  return { out, tap };
}

/** Offsets inside every multi-byte UTF-8 character and in the middle of every event. */
function nastyOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) offsets.push(i); // a continuation byte: the cut lands inside a character
  }
  let pos = 0;
  for (const part of bytes.toString('utf8').split('\n\n')) {
    const len = Buffer.byteLength(part) + 2;
    offsets.push(pos + Math.floor(len / 2), pos + len - 1); // mid-event, and between the two newlines
    pos += len;
  }
  return offsets;
}

describe('SseSplitter and parseSseEvent', () => {
  it('returns each event as its exact text, terminator included, for LF, CRLF and CR', () => {
    const text = 'event: a\ndata: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4';
    const splitter = new SseSplitter();
    expect(splitter.push(text)).toEqual(['event: a\ndata: 1\n\n', 'data: 2\r\n\r\n', 'data: 3\r\r']);
    expect(splitter.hasPending).toBe(true);
    expect(splitter.flush()).toBe('data: 4');
  });

  it('gives the same events whatever the split point', () => {
    const text = 'event: x\r\ndata: {"a":1}\r\n\r\n: comment\n\ndata: héllo\ndata: wörld\n\n';
    const whole = new SseSplitter().push(text);
    for (let cut = 0; cut <= text.length; cut++) {
      const splitter = new SseSplitter();
      expect([...splitter.push(text.slice(0, cut)), ...splitter.push(text.slice(cut))]).toEqual(whole);
    }
  });

  it('parses fields per the spec', () => {
    expect(parseSseEvent('event: message_delta\ndata: {"x":1}   \n\n')).toEqual({ event: 'message_delta', data: '{"x":1}   ' });
    expect(parseSseEvent('data:a\ndata: b\n\n')).toEqual({ event: undefined, data: 'a\nb' });
    expect(parseSseEvent(': keep-alive\n\n')).toBeUndefined();
    expect(parseSseEvent('id: 7\nretry: 10\ndata: [DONE]\n\n')).toEqual({ event: undefined, data: '[DONE]' });
  });
});

describe('tapSseStream forwards the upstream bytes unchanged', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = Buffer.from(c.sse(), 'utf8');
      const eventCount = c.sse().split('\n\n').filter((e) => e.trim() !== '').length;
      const splits: [string, Uint8Array[]][] = [
        ['whole', [bytes]],
        ['1 byte', splitEvery(bytes, 1)],
        ['7 bytes', splitEvery(bytes, 7)],
        ['100 bytes', splitEvery(bytes, 100)],
        ['random', splitRandom(bytes, 42, 300)],
        ['inside characters and events', splitAt(bytes, nastyOffsets(bytes))],
      ];
      for (const [how, chunks] of splits) {
        const { out, tap } = await runTap(chunks, c.inspector());
        if (c.shape === undefined) expect(out.equals(bytes), `${how}: output differs from input`).toBe(true);
        else expectShaped(out.toString('utf8'), c.sse(), c.shape, how);
        expect(usageCounts(tap.usage), how).toMatchObject(c.usage);
        expect(tap.completed, how).toBe(true);
        expect(tap.events, how).toBe(eventCount);
        expect(tap.model, how).toBe(c.model);
        expect(tap.error, how).toBeUndefined();
      }
    });
  }

  it('a chunk holding whole untouched events is forwarded as the same Buffer', async () => {
    const sse = anthropicSse('test_anthropic_compaction_usage_with_cache_streaming.yaml');
    const chunks = sse.split(/(?<=\n\n)/).map((e) => Buffer.from(e, 'utf8'));
    const tap = newTap();
    const out: (Buffer | string)[] = [];
    for await (const piece of tapSseStream(bodyOf(chunks), new AnthropicTapInspector(), tap, 'test', 'u')) out.push(piece);
    expect(out).toHaveLength(chunks.length);
    out.forEach((piece, i) => expect(piece).toBe(chunks[i]));
  });

  it('a stray newline after the last event is forwarded too', async () => {
    const bytes = Buffer.from(`${openaiSse(1)}\n`, 'utf8');
    const { out } = await runTap([bytes], new OpenAITapInspector(true));
    const text = out.toString('utf8');
    expect(text.endsWith('data: [DONE]\n\n\n'), `tail ${JSON.stringify(text.slice(-8))}`).toBe(true);
    expectShaped(text, bytes.toString('utf8'), litellmChunk);
  });
});

describe('annotateFinalUsage: only the final usage event changes', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const input = c.sse();
      const seen: Usage[] = [];
      const annotate = (u: Usage) => {
        seen.push(u);
        return { cost: 0.5 };
      };
      const { out } = await runTap(splitRandom(Buffer.from(input, 'utf8'), 7, 200), c.inspector(annotate));
      const after = sseEventsOf(out.toString('utf8'));
      const shape: Shape = c.shape ?? ((d) => d);
      // Dropped events aside, beyond the shape every event keeps, exactly one event changes: the last one carrying usage.
      const before = sseEventsOf(input).filter((e) => {
        const original = jsonOf(e);
        return typeof original === 'string' || shape(original) !== undefined;
      });
      expect(after).toHaveLength(before.length);
      const changed = before.flatMap((b, i) => {
        const original = jsonOf(b);
        return JSON.stringify(jsonOf(after[i])) === JSON.stringify(typeof original === 'string' ? original : shape(original)) ? [] : [i];
      });
      expect(changed).toHaveLength(1);
      const i = changed[0]!;
      const original = shape(JSON.parse(before[i]?.event?.data ?? '') as JsonObject)!;
      const rewritten = JSON.parse(after[i]?.event?.data ?? '') as JsonObject;
      expect(after[i]?.event?.event).toBe(before[i]?.event?.event);
      expect(rewritten).toEqual({ ...original, usage: { ...(original.usage as JsonObject), cost: 0.5 } });
      const lastUsage = before.map((b) => b.raw.includes('"usage":{')).lastIndexOf(true);
      expect(i).toBe(lastUsage);
      const others = (events: typeof before) => events.filter((_, j) => j !== i).map((e) => e.raw).join('');
      expectShaped(others(after), others(before), shape);
      expect(usageCounts(seen.at(-1) ?? {})).toMatchObject(c.usage);
    });
  }
});

describe('OpenAI inspector: the gateway-added usage chunk', () => {
  it('clientWantsUsage=false drops exactly the choices:[] usage chunk', async () => {
    const input = openaiSse(1);
    const usageEvent = sseEventsOf(input).find((e) => e.raw.includes('"choices":[],'));
    expect(usageEvent).toBeDefined();
    const { out, tap } = await runTap(splitEvery(Buffer.from(input, 'utf8'), 13), new OpenAITapInspector(false, () => ({ cost: 1 })));
    expectShaped(out.toString('utf8'), input.replace(usageEvent!.raw, ''), litellmChunk);
    // still metered: usage chunk prompt_tokens 78, completion_tokens 9
    expect(usageCounts(tap.usage)).toMatchObject({ inputUncached: 78, output: 9 });
    expect(tap.completed).toBe(true);
  });

  it('clientWantsUsage=false keeps a usage chunk that still has choices (it carries the finish)', async () => {
    const chunks = fixtureChunks('openai', 'azure-model-router.1.chunks.txt');
    const usage = chunks.at(-1)?.usage;
    const merged = [...chunks.slice(0, -2), { ...chunks.at(-2)!, usage }];
    const input = chunksToSse('openai', merged);
    const { out, tap } = await runTap([Buffer.from(input, 'utf8')], new OpenAITapInspector(false));
    expectShaped(out.toString('utf8'), input, litellmChunk);
    // azure usage: prompt 15, completion 78, reasoning 64
    expect(usageCounts(tap.usage)).toMatchObject({ inputUncached: 15, output: 78, reasoning: 64 });
  });
});

describe('errors inside a stream are recorded on the tap', () => {
  it('Anthropic overloaded_error after message_start', async () => {
    const start = fixtureChunks('anthropic', 'anthropic-text.chunks.txt')[0]!;
    const input = `${chunksToSse('anthropic', [start])}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`;
    const { out, tap } = await runTap([Buffer.from(input, 'utf8')], new AnthropicTapInspector());
    expect(out.toString('utf8')).toBe(input);
    expect(tap.error?.code).toBe('overloaded');
    expect(tap.error?.retryable).toBe(true);
    expect(tap.completed).toBe(false);
    expect(usageCounts(tap.usage)).toMatchObject({ inputUncached: 12, output: 1 });
  });

  it('OpenAI error chunk', async () => {
    const input = 'data: {"error":{"message":"boom","type":"server_error"}}\n\n';
    const { tap } = await runTap([Buffer.from(input, 'utf8')], new OpenAITapInspector(true));
    expect(tap.error?.message).toBe('boom');
    expect(tap.completed).toBe(false);
  });
});
