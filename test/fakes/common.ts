// Shared plumbing for the fake upstream providers: the scripted-behaviour queue, request recording,
// the HTTP server lifecycle, SSE writing with fault injection, and the word-based token counter.
// Provider files only decide *what* to answer; this file decides *how* it reaches the wire.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** One request as the fake saw it (every request, including rejected and unknown ones). */
export interface RecordedRequest {
  method: string;
  /** Path including the query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body text exactly as received. */
  body: string;
  /** Parsed body, or `undefined` when it was not valid JSON. */
  json: unknown;
  /** Behaviour applied; set only for generation requests that passed auth and validation. */
  step?: FakeStep;
  /** True when the client went away before the fake finished answering (e.g. gateway aborted). */
  aborted: boolean;
}

export interface StatusStep { status: number; body?: unknown; headers?: Record<string, string>; retryAfter?: number }
export interface CutAfterStep { kind: 'cut-after'; events: number }
export interface StallStep { kind: 'stall' }
export interface ResetStep { kind: 'reset' }
export interface OverloadedInStreamStep { kind: 'overloaded-in-stream' }
export interface ToolStep { kind: 'tool'; name: string; input: object }
export interface DelayStep { kind: 'delay'; ms: number }

export type FakeStep =
  | 'ok'
  | StatusStep
  | CutAfterStep
  | StallStep
  | ResetStep
  | OverloadedInStreamStep
  | ToolStep
  | DelayStep;

// Members are function-typed properties (not methods) so `afterEach(fake.close)` is lint-clean.
export interface FakeUpstream {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  requests: RecordedRequest[];
  /** Appends behaviours; each generation request consumes one. Empty queue means 'ok'. */
  script: (steps: FakeStep[]) => void;
  /** Forgets the simulated prompt cache (next identical prefix is a cache write again). */
  resetCache: () => void;
  /** Stops listening and drops every open connection (including stalled ones). */
  close: () => Promise<void>;
}

/** Captured fixture to answer with verbatim instead of the generated reply. */
export interface ReplayOptions {
  /** Non-streaming body file (sent byte-for-byte). */
  json?: string;
  /** `*.chunks.txt` file: one JSON event per line, re-framed as SSE. */
  chunks?: string;
}

export interface CommonFakeOptions {
  apiKey?: string;
  replay?: ReplayOptions;
  /** Overrides the deterministic reply text (one SSE delta per word). */
  replyText?: string;
  /** Pause between SSE events, so tests can observe streaming and disconnects mid-stream. */
  eventDelayMs?: number;
}

/** Token rule for both fakes: one token per whitespace-separated word. Exported so tests compute expectations independently. */
export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** "Hello from fake x." → ["Hello", " from", " fake", " x."] — one delta per word, like real token streams. */
export function wordDeltas(text: string): string[] {
  return text.split(/(?=\s+\S)/).filter((piece) => piece !== '');
}

/** Splits a string into `n` consecutive pieces (tool arguments are streamed in fragments). */
export function splitInto(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size));
}

/** Deterministic, provider-looking ids: same sequence for every fresh fake. */
export function idFactory(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${(++n).toString(36).padStart(20, '0')}`;
}

export interface LoadedReplay { json?: string; chunkLines?: string[] }

export async function loadReplay(replay: ReplayOptions | undefined): Promise<LoadedReplay> {
  if (!replay) return {};
  const out: LoadedReplay = {};
  if (replay.json !== undefined) out.json = await readFile(replay.json, 'utf8');
  if (replay.chunks !== undefined) {
    out.chunkLines = (await readFile(replay.chunks, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  }
  return out;
}

/** Turns fixture file names into `{ replay }` options, picking json vs chunks by extension. */
export function replayFrom(dir: URL, files: string[]): { replay: ReplayOptions } {
  const replay: ReplayOptions = {};
  for (const file of files) {
    const path = fileURLToPath(new URL(file, dir));
    if (file.endsWith('.chunks.txt')) replay.chunks = path;
    else if (file.endsWith('.json')) replay.json = path;
    else throw new Error(`fixture replay: ${file} is neither *.json nor *.chunks.txt`);
  }
  return { replay };
}

/** What a provider wants to send; the step runner decides how much of it reaches the client. */
export type Reply =
  | { kind: 'json'; status: number; text: string; headers?: Record<string, string> }
  | { kind: 'sse'; frames: string[] };

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  /** Aborted when the client disconnects: pending timers and writers stop instead of leaking. */
  signal: AbortSignal;
  /** Marks that *we* are killing the socket, so it is not counted as a client abort. */
  selfDestroy(mode: 'destroy' | 'reset'): void;
}

export function sendJson(ex: Exchange, status: number, text: string, headers: Record<string, string>): void {
  if (ex.signal.aborted) return;
  ex.res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  ex.res.end(text);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Writes SSE frames; with `cutAfter` it stops after that many frames and drops the socket without a final chunk. */
export async function sendSse(
  ex: Exchange,
  frames: string[],
  headers: Record<string, string>,
  opts: { eventDelayMs: number; cutAfter?: number },
): Promise<void> {
  if (ex.signal.aborted) return;
  ex.res.writeHead(200, headers);
  ex.res.flushHeaders();
  const limit = opts.cutAfter ?? frames.length;
  for (let i = 0; i < Math.min(limit, frames.length); i++) {
    if (ex.signal.aborted) return;
    if (i > 0 && opts.eventDelayMs > 0) await sleep(opts.eventDelayMs, ex.signal);
    if (ex.signal.aborted) return;
    ex.res.write(frames[i]);
  }
  if (opts.cutAfter !== undefined) {
    // Give the written frames a chance to leave the kernel buffer before the socket dies,
    // otherwise the client may see the cut before any of the N events.
    await new Promise<void>((resolve) => setImmediate(resolve));
    ex.selfDestroy('destroy');
    return;
  }
  ex.res.end();
}

/** What the step runner needs from a provider. */
export interface ProviderHooks {
  stream: boolean;
  ok(): Reply;
  tool(name: string, input: object): Reply;
  errorBody(status: number): unknown;
  overloadedInStream(): Reply;
  headers(kind: 'json' | 'sse'): Record<string, string>;
  eventDelayMs: number;
}

/** Executes one scripted behaviour for a generation request. */
export async function runStep(ex: Exchange, step: FakeStep, hooks: ProviderHooks): Promise<void> {
  ex.record.step = step;
  const deliver = async (reply: Reply, cutAfter?: number): Promise<void> => {
    if (reply.kind === 'json') {
      if (cutAfter === undefined) return sendJson(ex, reply.status, reply.text, { ...hooks.headers('json'), ...reply.headers });
      // Non-streaming cut: headers arrive, the body never completes.
      ex.res.writeHead(reply.status, { ...hooks.headers('json'), 'content-length': String(Buffer.byteLength(reply.text)) });
      ex.res.flushHeaders();
      await new Promise<void>((resolve) => setImmediate(resolve));
      return ex.selfDestroy('destroy');
    }
    const opts = cutAfter === undefined ? { eventDelayMs: hooks.eventDelayMs } : { eventDelayMs: hooks.eventDelayMs, cutAfter };
    return sendSse(ex, reply.frames, hooks.headers('sse'), opts);
  };

  if (step === 'ok') return deliver(hooks.ok());
  if (!('kind' in step)) {
    const headers: Record<string, string> = { ...hooks.headers('json'), ...step.headers };
    if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
    const body = step.body === undefined ? hooks.errorBody(step.status) : step.body;
    return sendJson(ex, step.status, typeof body === 'string' ? body : JSON.stringify(body), headers);
  }
  switch (step.kind) {
    case 'cut-after':
      return deliver(hooks.ok(), step.events);
    case 'stall':
      // Streaming: the client gets a 200 and headers, then silence. Non-streaming: nothing at all.
      if (hooks.stream) {
        ex.res.writeHead(200, hooks.headers('sse'));
        ex.res.flushHeaders();
      }
      return new Promise<void>((resolve) => ex.signal.addEventListener('abort', () => resolve(), { once: true }));
    case 'reset':
      return ex.selfDestroy('reset');
    case 'overloaded-in-stream':
      return deliver(hooks.overloadedInStream());
    case 'tool':
      return deliver(hooks.tool(step.name, step.input));
    case 'delay':
      await sleep(step.ms, ex.signal);
      return deliver(hooks.ok());
  }
}

export class StepQueue {
  private readonly queue: FakeStep[] = [];
  push(steps: FakeStep[]): void {
    this.queue.push(...steps);
  }
  next(): FakeStep {
    return this.queue.shift() ?? 'ok';
  }
}

/** Starts a loopback server that records every request, then hands it to the provider handler. */
export async function serve(
  requests: RecordedRequest[],
  handler: (ex: Exchange) => Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : (JSON.parse(body) as unknown);
      } catch {
        json = undefined;
      }
      const record: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, aborted: false };
      requests.push(record);
      const controller = new AbortController();
      let ours = false;
      res.on('close', () => {
        if (!res.writableFinished && !ours) record.aborted = true;
        controller.abort();
      });
      const ex: Exchange = {
        req,
        res,
        record,
        signal: controller.signal,
        selfDestroy(mode) {
          ours = true;
          if (mode === 'reset' && typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
          else req.socket.destroy();
        },
      };
      handler(ex).catch((err: unknown) => {
        // A bug in the fake must surface as a loud 500, not a hung test.
        if (!res.headersSent) sendJson(ex, 500, JSON.stringify({ fake_error: String(err) }), { 'content-type': 'application/json' });
        else ex.selfDestroy('destroy');
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function header(ex: Exchange, name: string): string | undefined {
  const value = ex.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
