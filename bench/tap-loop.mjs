#!/usr/bin/env node
// Micro-benchmark of the passthrough stream tap (src/providers/shared/tap-loop.ts) over recorded
// streams from test/fixtures/providers: µs of CPU per event and bytes allocated per event, for
//   anthropic-sse    Anthropic SSE, one event per network chunk (the direct Anthropic passthrough)
//   openai-sse       OpenAI chat SSE, one event per chunk (text edits into LiteLLM's chunk shape)
//   bedrock-invoke   Bedrock InvokeModel event-stream frames re-framed as Anthropic SSE
// against a compiled tree (default ./dist; `npx tsc -p tsconfig.build.json` first). Pass
// --dist <dir> to measure another build, e.g. the previous commit's, for a before/after.
//
//   node --expose-gc --single-threaded-gc --max-semi-space-size=256 bench/tap-loop.mjs [--dist dist] [--seconds 2]
//
// Allocation: with a 256 MB young generation no scavenge runs inside a measured batch, so the
// growth of heapUsed plus arrayBuffers over the batch is what the tap allocated (the median of 7
// batches; single-threaded GC so that no concurrent sweep moves the baseline).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventStreamCodec } from '@smithy/eventstream-codec';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const dist = resolve(opt('dist', 'dist'));
const seconds = Number(opt('seconds', '2'));
const root = resolve(import.meta.dirname, '..');
const load = (path) => import(pathToFileURL(join(dist, path)).href);

const { tapSseStream } = await load('providers/shared/stream-tap.js');
const { AnthropicTapInspector } = await load('providers/anthropic/tap.js');
const { OpenAITapInspector } = await load('providers/openai/tap.js');
const { tapInvokeStream } = await load('providers/bedrock/invoke-stream.js');

const chunksOf = (dir, file) =>
  readFileSync(join(root, 'test/fixtures/providers', dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

const anthropic = chunksOf('anthropic', 'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt');
const openai = chunksOf('openai', 'openai-reasoning-encrypted-content.1.chunks.txt');
const utf8 = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const codec = new EventStreamCodec(utf8, (s) => new Uint8Array(Buffer.from(s, 'utf8')));
const header = (value) => ({ type: 'string', value });

const scenarios = {
  'anthropic-sse': {
    chunks: anthropic.map((c) => Buffer.from(`event: ${c.type}\ndata: ${JSON.stringify(c)}\n\n`)),
    run: (body, tap) => tapSseStream(body, new AnthropicTapInspector(() => ({ cost: 0.001 })), tap, 'bench', 'http://bench'),
  },
  'openai-sse': {
    chunks: [...openai.map((c) => Buffer.from(`data: ${JSON.stringify(c)}\n\n`)), Buffer.from('data: [DONE]\n\n')],
    run: (body, tap) => tapSseStream(body, new OpenAITapInspector(true, () => ({ cost: 0.001 })), tap, 'bench', 'http://bench'),
  },
  'bedrock-invoke': {
    chunks: anthropic.map((c) =>
      Buffer.from(
        codec.encode({
          headers: { ':message-type': header('event'), ':event-type': header('chunk'), ':content-type': header('application/json') },
          body: Buffer.from(JSON.stringify({ bytes: Buffer.from(JSON.stringify(c)).toString('base64') })),
        }),
      ),
    ),
    run: (body, tap) => tapInvokeStream(body, new AnthropicTapInspector(() => ({ cost: 0.001 })), tap, 'http://bench'),
  },
};

async function once(s) {
  const tap = { usage: {}, completed: false, events: 0, answerStarted: false };
  let bytes = 0;
  for await (const piece of s.run(s.chunks, tap)) bytes += piece.length;
  if (!tap.completed) throw new Error('the tap did not see the end of the stream');
  return bytes;
}

const memory = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const results = {};
for (const [name, s] of Object.entries(scenarios)) {
  const events = s.chunks.length;
  for (let i = 0; i < 200; i++) await once(s); // warm up
  // Time: as many streams as fit in `seconds`.
  let streams = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 50; i++) await once(s);
    streams += 50;
  }
  const cpu = process.cpuUsage(cpu0);
  // Allocation: batches small enough to fit in the young generation.
  const batch = 500;
  const grown = [];
  for (let k = 0; k < 7; k++) {
    globalThis.gc?.();
    const m0 = memory();
    for (let i = 0; i < batch; i++) await once(s);
    grown.push(memory() - m0);
  }
  const allocated = grown.sort((a, b) => a - b)[3];
  results[name] = {
    events_per_stream: events,
    us_per_event: Number(((cpu.user + cpu.system) / (streams * events)).toFixed(3)),
    bytes_allocated_per_event: globalThis.gc === undefined ? null : Math.round(allocated / (batch * events)),
  };
}
console.log(JSON.stringify({ dist, results }, null, 2));
