#!/usr/bin/env node
// Fast fake LLM provider for benchmarks (node:http, no dependencies).
//
//   POST /v1/chat/completions   OpenAI Chat Completions (JSON or SSE)
//   POST /v1/messages           Anthropic Messages (JSON or SSE)
//   GET  /health                200 "ok"
//
// Any auth is accepted. Usage numbers are deterministic: prompt tokens are
// derived from the request body size (~4 bytes per token), so the large-prompt
// scenario reports large prompt usage. Replies to small bodies (<= 16 KB) are
// cached per body, so repeated identical requests get byte-identical replies
// (same id) and cost the mock almost no CPU.
//
// Held streams: a streaming request whose body contains `[bench-hold ms=H every=E]`
// (in a message) is answered with its first event(s) at once, then one content
// event every E ms for about H ms, then the end: bench/streams.mjs uses this to
// keep thousands of slow streams open through a proxy, on either wire.
//
// Standalone:  node bench/fake-upstream.mjs [--port 18080] [--host 127.0.0.1]
//                   [--chunks 10] [--latency MS] [--chunk-delay MS]
// Prints one line `fake-upstream listening {"port":N,...}` when ready.

import http from 'node:http';
import { fileURLToPath } from 'node:url';

const MAX_BODY = 32 * 1024 * 1024;
const CACHE_MAX_BODY = 16 * 1024;
const CACHE_ENTRIES = 256;
const WORDS = ['Hello', ' from', ' the', ' fake', ' upstream', ',', ' a', ' steady', ' stream', ' of', ' tokens', '.'];

function chunkText(i) {
  return WORDS[i % WORDS.length];
}

function promptTokens(bodyBytes) {
  return Math.max(1, Math.round(bodyBytes / 4));
}

function sendJson(res, status, text) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res, status, message, type = 'invalid_request_error') {
  sendJson(res, status, JSON.stringify({ error: { message, type } }));
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

/**
 * Write the given SSE frames. With delayMs = 0 they are corked and written in
 * one go (still one HTTP chunk per event); otherwise one event per delayMs.
 */
function writeFrames(res, frames, delayMs) {
  res.writeHead(200, SSE_HEADERS);
  if (!delayMs) {
    res.cork();
    for (const f of frames) res.write(f);
    res.uncork();
    res.end();
    return;
  }
  let i = 0;
  let timer = null;
  const next = () => {
    if (res.destroyed) return;
    res.write(frames[i++]);
    if (i >= frames.length) res.end();
    else timer = setTimeout(next, delayMs);
  };
  res.on('close', () => timer && clearTimeout(timer));
  next();
}

/**
 * Held stream: write `head` frames now, then one frame every `every` ms, and the
 * last `tail` frames together at the end.
 */
function writeHeld(res, frames, { head, tail, every }) {
  res.writeHead(200, SSE_HEADERS);
  res.cork();
  for (let k = 0; k < head; k++) res.write(frames[k]);
  res.uncork();
  let i = head;
  const last = frames.length - tail;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    if (i < last) {
      res.write(frames[i++]);
      return;
    }
    clearInterval(timer);
    res.cork();
    for (; i < frames.length; i++) res.write(frames[i]);
    res.uncork();
    res.end();
  }, every);
  res.on('close', () => clearInterval(timer));
}

const HOLD_RE = /\[bench-hold ms=(\d+) every=(\d+)\]/;

/** The held-stream marker of a small body, or null. */
function holdOf(buf) {
  const m = HOLD_RE.exec(buf.toString('latin1'));
  if (!m) return null;
  const ms = Math.min(3_600_000, Number(m[1]));
  const every = Math.max(10, Number(m[2]));
  return { every, chunks: Math.max(1, Math.min(100_000, Math.floor(ms / every))) };
}

// ---------------------------------------------------------------- OpenAI

function openaiReply(body, bodyBytes, opts, hold) {
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const n = hold ? hold.chunks : opts.chunks;
  const pt = promptTokens(bodyBytes);
  const ct = n;
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-bench${(opts.seq++).toString(36)}`;
  const usage = {
    prompt_tokens: pt,
    completion_tokens: ct,
    total_tokens: pt + ct,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };

  if (body.stream !== true) {
    let content = '';
    for (let i = 0; i < n; i++) content += chunkText(i);
    const out = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
      service_tier: 'default',
      system_fingerprint: 'fp_bench',
    };
    return { json: Buffer.from(JSON.stringify(out)) };
  }

  const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
  const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"fp_bench","choices":`;
  const tail = includeUsage ? ',"usage":null}' : '}';
  const frames = [];
  frames.push(`data: ${head}[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${tail}\n\n`);
  for (let i = 0; i < n; i++) {
    frames.push(`data: ${head}[{"index":0,"delta":{"content":${JSON.stringify(chunkText(i))}},"logprobs":null,"finish_reason":null}]${tail}\n\n`);
  }
  frames.push(`data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]${tail}\n\n`);
  if (includeUsage) frames.push(`data: ${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
  frames.push('data: [DONE]\n\n');
  if (hold) return { frames, held: { head: 1, tail: frames.length - 1 - n, every: hold.every } };
  return { frames };
}

// ---------------------------------------------------------------- Anthropic

function anthropicReply(body, bodyBytes, opts, hold) {
  const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
  const n = hold ? hold.chunks : opts.chunks;
  const total = promptTokens(bodyBytes);
  // Deterministic split of the prompt into uncached / cache-write / cache-read.
  const cacheRead = Math.floor(total / 2);
  const cacheCreation = Math.floor(total / 4);
  const input = Math.max(1, total - cacheRead - cacheCreation);
  const id = `msg_bench${(opts.seq++).toString(36)}`;

  if (body.stream !== true) {
    let text = '';
    for (let i = 0; i < n; i++) text += chunkText(i);
    const out = {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: input,
        cache_creation_input_tokens: cacheCreation,
        cache_read_input_tokens: cacheRead,
        output_tokens: n,
        service_tier: 'standard',
      },
    };
    return { json: Buffer.from(JSON.stringify(out)) };
  }

  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const frames = [];
  frames.push(
    ev('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: input,
          cache_creation_input_tokens: cacheCreation,
          cache_read_input_tokens: cacheRead,
          output_tokens: 1,
          service_tier: 'standard',
        },
      },
    }),
  );
  frames.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  for (let i = 0; i < n; i++) {
    frames.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: chunkText(i) } }));
  }
  frames.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  frames.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }));
  frames.push(ev('message_stop', { type: 'message_stop' }));
  if (hold) return { frames, held: { head: 2, tail: 3, every: hold.every } };
  return { frames };
}

// ---------------------------------------------------------------- server

/** Position just after the JSON key `"name"` followed by `:` (not inside a string escape), or -1. */
function findKey(buf, name, from = 0) {
  const needle = Buffer.from(`"${name}"`);
  let i = buf.indexOf(needle, from);
  while (i !== -1) {
    if (i === 0 || buf[i - 1] !== 0x5c /* \\ */) {
      let j = i + needle.length;
      while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
      if (buf[j] === 0x3a /* : */) {
        j++;
        while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
        return j;
      }
    }
    i = buf.indexOf(needle, i + 1);
  }
  return -1;
}

const TRUE = Buffer.from('true');

/**
 * Extract model / stream / stream_options.include_usage from a big JSON body
 * without parsing it. Only the first and last 8 KB are searched: the bulk of a
 * large request is message content, and top-level scalars sit before or after it.
 */
function sniffLargeBody(full) {
  const W = 8192;
  const buf = full.length <= 2 * W ? full : Buffer.concat([full.subarray(0, W), Buffer.from(' '), full.subarray(full.length - W)]);
  const out = {};
  const m = findKey(buf, 'model');
  if (m !== -1 && buf[m] === 0x22) {
    const end = buf.indexOf(0x22, m + 1);
    if (end !== -1 && end - m < 256) out.model = buf.toString('utf8', m + 1, end);
  }
  const st = findKey(buf, 'stream');
  if (st !== -1 && buf.compare(TRUE, 0, 4, st, st + 4) === 0) out.stream = true;
  const iu = findKey(buf, 'include_usage');
  if (iu !== -1 && buf.compare(TRUE, 0, 4, iu, iu + 4) === 0) out.stream_options = { include_usage: true };
  return out;
}

function handle(req, res, opts) {
  const url = req.url || '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);

  if (req.method === 'GET' && (path === '/health' || path === '/')) {
    sendJson(res, 200, '{"status":"ok"}');
    return;
  }
  if (req.method === 'GET' && path === '/v1/models') {
    sendJson(res, 200, JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', owned_by: 'bench' }] }));
    return;
  }
  let kind = null;
  if (req.method === 'POST' && path === '/v1/chat/completions') kind = 'openai';
  else if (req.method === 'POST' && path === '/v1/messages') kind = 'anthropic';
  if (!kind) {
    req.resume();
    sendError(res, 404, `no route for ${req.method} ${path}`, 'not_found_error');
    return;
  }

  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) tooBig = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (tooBig) return sendError(res, 413, 'request body too large');
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // Small bodies repeat during a benchmark: cache the prepared reply so the
    // mock spends as little CPU as possible (it shares a core with the load).
    // Large bodies are not decoded at all: the few fields the mock needs are
    // sniffed from the bytes (decoding 200 KB of non-ASCII UTF-8 and parsing
    // it would make the mock, not the proxy, the bottleneck).
    const key = size <= CACHE_MAX_BODY ? kind + buf.toString('latin1') : null;
    let reply = key !== null ? opts.cache.get(key) : undefined;
    if (!reply) {
      let body;
      if (key === null) body = sniffLargeBody(buf);
      else {
        try {
          body = JSON.parse(buf.toString('utf8'));
        } catch {
          return sendError(res, 400, 'invalid JSON body');
        }
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) return sendError(res, 400, 'body must be a JSON object');
      const hold = key !== null && body.stream === true ? holdOf(buf) : null;
      reply = kind === 'openai' ? openaiReply(body, size, opts, hold) : anthropicReply(body, size, opts, hold);
      if (key !== null) {
        if (opts.cache.size >= CACHE_ENTRIES) opts.cache.clear();
        opts.cache.set(key, reply);
      }
    }
    const respond = () => {
      if (res.destroyed) return;
      if (reply.json !== undefined) sendJson(res, 200, reply.json);
      else if (reply.held) writeHeld(res, reply.frames, reply.held);
      else writeFrames(res, reply.frames, opts.chunkDelay);
    };
    if (opts.latency > 0) setTimeout(respond, opts.latency);
    else respond();
  });
  req.on('error', () => res.destroy());
}

/**
 * Start the fake upstream. Resolves to { server, port, url, close() }.
 * @param {{port?: number, host?: string, chunks?: number, latency?: number, chunkDelay?: number}} [options]
 */
export function startFakeUpstream(options = {}) {
  const opts = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    chunks: Math.max(1, Math.min(1000, options.chunks ?? 10)),
    latency: Math.max(0, options.latency ?? 0),
    chunkDelay: Math.max(0, options.chunkDelay ?? 0),
    seq: 0,
    cache: new Map(),
  };
  const server = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 60_000 }, (req, res) => handle(req, res, opts));
  server.maxHeadersCount = 200;
  server.headersTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      const { port } = server.address();
      resolve({
        server,
        port,
        url: `http://${opts.host}:${port}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}`);
    const val = m[2] ?? argv[++i];
    if (val === undefined) throw new Error(`missing value for --${m[1]}`);
    out[m[1]] = val;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = parseArgs(process.argv.slice(2));
  const up = await startFakeUpstream({
    port: Number(args.port ?? process.env.PORT ?? 18080),
    host: args.host ?? '127.0.0.1',
    chunks: args.chunks !== undefined ? Number(args.chunks) : undefined,
    latency: args.latency !== undefined ? Number(args.latency) : undefined,
    chunkDelay: args['chunk-delay'] !== undefined ? Number(args['chunk-delay']) : undefined,
  });
  console.log(`fake-upstream listening ${JSON.stringify({ port: up.port, url: up.url, pid: process.pid })}`);
  const stop = () => {
    up.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
