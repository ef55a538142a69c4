// A raw fault server for the upstream-fault end-to-end tests: one loopback server that answers both
// the OpenAI chat (`/v1/chat/completions`) and Anthropic messages (`/v1/messages`) wires, with
// faults the scripted provider fakes cannot produce — HTML error pages, a reset in the middle of a
// JSON body, headers later than the deployment's timeout, SSE events cut in half or carrying
// invalid JSON, gzip/br content encoding, and big fast streams that count backpressure.
// Plumbing (request recording, socket control, SSE writing, token rule) is common.ts's.
import { constants as zlibConstants, createBrotliCompress, createGzip, type BrotliCompress, type Gzip } from 'node:zlib';
import { countWords, idFactory, isRecord, sendJson, sendSse, serve, sleep, wordDeltas, type Exchange, type RecordedRequest } from './common.js';
import { openaiMessageText } from './openai-upstream.js';

export type Encoding = 'gzip' | 'br';

/** What one generation request gets. Every step answers in the dialect the request's path names. */
export type FaultStep =
  /** A normal answer, optionally content-encoded. */
  | { kind: 'ok'; encoding?: Encoding }
  /** An nginx-style HTML error page with `content-type: text/html`, optionally content-encoded. */
  | { kind: 'html'; status: number; encoding?: Encoding }
  /** TCP reset before any response byte. */
  | { kind: 'reset' }
  /** Non-streaming: headers (with the full content-length) and half of the JSON, then a TCP reset. */
  | { kind: 'reset-mid-body' }
  /** Waits `ms` before sending anything, then answers normally. */
  | { kind: 'slow-headers'; ms: number }
  /** Streaming: `events` whole events, then silence until the client goes. */
  | { kind: 'stall-after'; events: number }
  /**
   * Streaming: `events` whole events, then the first half of the next one; then the socket is
   * destroyed (`destroy`: the chunked body never ends) or the body ends cleanly (`end`).
   */
  | { kind: 'truncated'; events: number; close: 'destroy' | 'end' }
  /** Streaming: `events` whole events, one whose `data:` is not JSON, then the rest of the answer. */
  | { kind: 'invalid-json'; events: number }
  /**
   * Streaming: a reply of `words` words, each `w<index in base 36>` padded with `x` to `wordBytes`,
   * written as fast as the socket takes it (backpressure counted).
   */
  | { kind: 'big'; words: number; wordBytes: number };

export type Dialect = 'openai' | 'anthropic';

/** How the last `big` stream met backpressure from the gateway. */
export interface WriteStats {
  /** Bytes handed to `res.write` so far. */
  written: number;
  /** Total bytes the stream will write. */
  total: number;
  /** Times `res.write` returned false and the writer waited for 'drain'. */
  pauses: number;
  /** True while the writer is blocked on 'drain'. */
  waiting: boolean;
  done: boolean;
}

export interface FaultUpstream {
  url: string;
  requests: RecordedRequest[];
  /** Appends steps; each generation request consumes one, an empty queue answers 'ok'. */
  script: (steps: FaultStep[]) => void;
  /** Backpressure facts of the most recent `big` stream. */
  stats: WriteStats;
  close: () => Promise<void>;
}

/** The reply text every normal answer carries (one token per word, see countWords). */
export const FAULT_REPLY_TEXT = 'Fault server says hello there.';

const NGINX_REASONS: Record<number, string> = { 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };

/** The page nginx serves when its own upstream is down. */
export function nginxPage(status: number): string {
  const title = `${status} ${NGINX_REASONS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n`;
}

/** Prompt tokens as the fault server counts them: the words of every message's text (at least 1). */
export function promptTokens(messages: unknown): number {
  return Math.max(1, countWords((Array.isArray(messages) ? messages : []).map(openaiMessageText).join('\n')));
}

interface Answer {
  /** The whole answer, built only when asked (a `big` stream never is). */
  json: () => string;
  frames: string[];
}

const nextId = idFactory('fault_');

/** The reply as its stream deltas: one word each, its leading space included. */
function openaiAnswer(model: string, deltas: string[], prompt: number, includeUsage: boolean): Answer {
  const id = `chatcmpl-${nextId()}`;
  const created = 1_700_000_000;
  const completion = deltas.length;
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  const frames = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
    ...deltas.map((content) => chunk([{ index: 0, delta: { content }, finish_reason: null }])),
    chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    ...(includeUsage ? [chunk([], { usage })] : []),
    'data: [DONE]\n\n',
  ];
  const json = (): string => JSON.stringify({
    id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message: { role: 'assistant', content: deltas.join('') }, finish_reason: 'stop' }], usage,
  });
  return { json, frames };
}

function anthropicAnswer(model: string, deltas: string[], prompt: number): Answer {
  const id = `msg_${nextId()}`;
  const output = deltas.length;
  const usage = { input_tokens: prompt, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output };
  const event = (data: { type: string } & Record<string, unknown>): string => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
  const message = (content: unknown[], stop: string | null, u: typeof usage): Record<string, unknown> => ({
    id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: u,
  });
  const frames = [
    event({ type: 'message_start', message: message([], null, { ...usage, output_tokens: 1 }) }),
    event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ...deltas.map((piece) => event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } })),
    event({ type: 'content_block_stop', index: 0 }),
    event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: output } }),
    event({ type: 'message_stop' }),
  ];
  return { json: () => JSON.stringify(message([{ type: 'text', text: deltas.join('') }], 'end_turn', usage)), frames };
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

function compressor(encoding: Encoding): Gzip | BrotliCompress {
  return encoding === 'gzip' ? createGzip() : createBrotliCompress({ params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } });
}

/** Writes `pieces` through a compressor, flushing after each so SSE events leave one by one. */
async function sendEncoded(ex: Exchange, status: number, headers: Record<string, string>, pieces: string[], encoding: Encoding): Promise<void> {
  ex.res.writeHead(status, { ...headers, 'content-encoding': encoding });
  const z = compressor(encoding);
  z.pipe(ex.res);
  for (const piece of pieces) {
    if (ex.signal.aborted) return;
    z.write(piece);
    await new Promise<void>((resolve) => z.flush(() => resolve()));
  }
  z.end();
}

/** Resolves on 'drain', or when the peer went away; removes both listeners either way. */
function drainOrClose(ex: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      ex.res.off('drain', done);
      ex.res.off('close', done);
      resolve();
    };
    ex.res.on('drain', done);
    ex.res.on('close', done);
  });
}

/** Writes frames as fast as the socket takes them, waiting for 'drain' whenever `write` says stop. */
async function sendFast(ex: Exchange, frames: string[], stats: WriteStats): Promise<void> {
  ex.res.writeHead(200, SSE_HEADERS);
  stats.total = frames.reduce((sum, f) => sum + Buffer.byteLength(f), 0);
  for (const frame of frames) {
    if (ex.signal.aborted) return;
    stats.written += Buffer.byteLength(frame);
    if (!ex.res.write(frame)) {
      stats.pauses++;
      stats.waiting = true;
      await drainOrClose(ex);
      stats.waiting = false;
    }
  }
  ex.res.end();
  stats.done = true;
}

/** Lets written bytes leave before the socket is killed, so the peer sees them before the cut. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

async function answer(ex: Exchange, step: FaultStep, stats: WriteStats): Promise<void> {
  const body = ex.record.json;
  const dialect: Dialect = ex.record.path.startsWith('/v1/messages') ? 'anthropic' : 'openai';
  if (!isRecord(body) || (ex.record.path.split('?')[0] !== '/v1/messages' && ex.record.path.split('?')[0] !== '/v1/chat/completions')) {
    return sendJson(ex, 404, JSON.stringify({ error: { message: `fault server: no route ${ex.record.path}` } }), JSON_HEADERS);
  }
  const stream = body.stream === true;
  const model = typeof body.model === 'string' ? body.model : 'unknown';
  const prompt = promptTokens(body.messages);
  const deltas = step.kind === 'big'
    ? Array.from({ length: step.words }, (_, i) => `${i === 0 ? '' : ' '}${`w${i.toString(36)}`.padEnd(step.wordBytes, 'x')}`)
    : wordDeltas(FAULT_REPLY_TEXT);
  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const { json, frames } = dialect === 'openai' ? openaiAnswer(model, deltas, prompt, includeUsage) : anthropicAnswer(model, deltas, prompt);
  const normal = (): Promise<void> | void =>
    stream ? sendSse(ex, frames, SSE_HEADERS, { eventDelayMs: 0 }) : sendJson(ex, 200, json(), JSON_HEADERS);

  switch (step.kind) {
    case 'ok':
      if (step.encoding === undefined) return normal();
      return stream ? sendEncoded(ex, 200, SSE_HEADERS, frames, step.encoding) : sendEncoded(ex, 200, JSON_HEADERS, [json()], step.encoding);
    case 'html': {
      const headers = { 'content-type': 'text/html', server: 'nginx/1.25.3' };
      if (step.encoding !== undefined) return sendEncoded(ex, step.status, headers, [nginxPage(step.status)], step.encoding);
      return sendJson(ex, step.status, nginxPage(step.status), headers);
    }
    case 'reset':
      return ex.selfDestroy('reset');
    case 'reset-mid-body': {
      const whole = json();
      ex.res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(whole)) });
      ex.res.write(whole.slice(0, Math.floor(whole.length / 2)));
      await settle();
      return ex.selfDestroy('reset');
    }
    case 'slow-headers':
      await sleep(step.ms, ex.signal);
      if (ex.signal.aborted) return;
      return normal();
    case 'stall-after':
      ex.res.writeHead(200, SSE_HEADERS);
      for (const frame of frames.slice(0, step.events)) ex.res.write(frame);
      return new Promise<void>((resolve) => ex.signal.addEventListener('abort', () => resolve(), { once: true }));
    case 'truncated': {
      const next = frames[step.events] ?? '';
      // Half of the next event: its `data:` line ends mid-JSON, with no terminator.
      const half = next.slice(0, Math.floor(next.length / 2));
      const sent = [...frames.slice(0, step.events), half];
      if (step.close === 'destroy') return sendSse(ex, sent, SSE_HEADERS, { eventDelayMs: 0, cutAfter: sent.length });
      // 'end': the HTTP body ends cleanly (last chunk sent) right after the half event.
      return sendSse(ex, sent, SSE_HEADERS, { eventDelayMs: 0 });
    }
    case 'invalid-json': {
      const bad = dialect === 'anthropic' ? 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"ty\n\n' : 'data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"cont\n\n';
      return sendSse(ex, [...frames.slice(0, step.events), bad, ...frames.slice(step.events)], SSE_HEADERS, { eventDelayMs: 0 });
    }
    case 'big':
      return sendFast(ex, frames, stats);
  }
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const requests: RecordedRequest[] = [];
  const queue: FaultStep[] = [];
  const stats: WriteStats = { written: 0, total: 0, pauses: 0, waiting: false, done: false };
  const server = await serve(requests, async (ex) => {
    const step = queue.shift() ?? { kind: 'ok' };
    if (step.kind === 'big') Object.assign(stats, { written: 0, total: 0, pauses: 0, waiting: false, done: false });
    await answer(ex, step, stats);
  });
  return { url: server.url, requests, script: (steps) => queue.push(...steps), stats, close: server.close };
}
