// Fake single-answer endpoints on one loopback server, each on its provider's real wire:
//  - OpenAI   POST /v1/moderations | /v1/images/generations | /v1/audio/transcriptions (multipart) |
//             /v1/audio/speech                                    Authorization: Bearer <OPENAI_FAKE_KEY>
//  - Azure    POST /openai/deployments/{d}/images/generations | /audio/transcriptions | /audio/speech
//             ?api-version=…                                      api-key: <AZURE_FAKE_KEY>
//  - Cohere   POST /v2/rerank                                     Authorization: bearer <COHERE_FAKE_KEY>
//  - vLLM     POST /v1/rerank (and /rerank)                       Authorization: Bearer <VLLM_FAKE_KEY>
// Requests are recorded with their raw bytes (a WAV upload must be compared byte for byte).
//
// Deterministic answers, exported so tests compute expectations without the gateway's code:
//  - moderation: one result per input; flagged (category violence) when the text contains "attack".
//  - images: dall-e-* answer `data: [{url, revised_prompt}]` and no usage; gpt-image-1 answers
//    `b64_json` and usage { input_tokens: countWords(prompt), output_tokens: n * IMAGE_OUTPUT_TOKENS }.
//  - transcription: the form is parsed by undici's own FormData reader (not the gateway's); the
//    text is transcriptText(filename, bytes); seconds = wavSeconds(file) from its WAV header.
//    whisper-1: json → { text, usage: { type: "duration", seconds } } (seconds rounded up),
//    verbose_json → { task, language, duration, text, segments: [] }, text → text/plain.
//    gpt-4o-*-transcribe: { text, usage: { type: "tokens", input_tokens: ceil(seconds * AUDIO_TOKENS_PER_SECOND),
//    output_tokens: countWords(text) } }.
//  - speech: speechAudio(input, format) bytes (content-type audio/mpeg for mp3, audio/wav, …), in
//    SPEECH_CHUNKS writes.
//  - rerank: score = rerankScore(query, document); results sorted by score (ties by index), top_n.
//    Cohere meta.billed_units.search_units = ceil(documents / 100); vLLM usage.total_tokens =
//    countWords(query) + Σ countWords(document), and each result carries document.text.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AZURE_FAKE_KEY } from './azure-upstream.js';
import { COHERE_FAKE_KEY } from './cohere-upstream.js';
import { countWords, isRecord } from './common.js';
import { OPENAI_FAKE_KEY, openaiError } from './openai-upstream.js';

export const VLLM_FAKE_KEY = 'vllm-fake-key';
export const IMAGE_OUTPUT_TOKENS = 1056;
export const AUDIO_TOKENS_PER_SECOND = 10;
export const SPEECH_CHUNKS = 3;
export const ENDPOINTS_FAKE_KEYS = { openai: OPENAI_FAKE_KEY, azure: AZURE_FAKE_KEY, cohere: COHERE_FAKE_KEY, vllm: VLLM_FAKE_KEY } as const;

export interface EndpointRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  json: unknown;
}

export interface EndpointsFake {
  url: string;
  requests: EndpointRequest[];
  close: () => Promise<void>;
}

export const transcriptText = (filename: string, bytes: number): string => `a transcript of ${filename} which holds ${bytes} bytes`;

/** Seconds of audio a PCM WAV holds: data bytes / byte rate (offset 28), the data chunk found by its id. */
export function wavSeconds(file: Buffer): number {
  const byteRate = file.readUInt32LE(28);
  const data = file.indexOf('data', 12);
  return file.readUInt32LE(data + 4) / byteRate;
}

/** A small mono 16-bit PCM WAV of `seconds` (silence with a ramp, so it is not all zeros). */
export function makeWav(seconds: number, sampleRate = 8000): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) buf.writeInt16LE((i % 200) * 100 - 10_000, 44 + i * 2);
  return buf;
}

const AUDIO_TYPES: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/opus', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };

/** The bytes "spoken" for `input`: 64 bytes of hash chain per character. */
export function speechAudio(input: string, format = 'mp3'): Buffer {
  const blocks: Buffer[] = [];
  let seed = createHash('sha256').update(`${format}:${input}`).digest();
  for (let i = 0; i < [...input].length * 2; i++) {
    blocks.push(seed);
    seed = createHash('sha256').update(seed).digest();
  }
  return Buffer.concat(blocks);
}

/** Share of the document's words that appear in the query, to 4 places. */
export function rerankScore(query: string, document: string): number {
  const q = new Set(query.toLowerCase().split(/\W+/).filter(Boolean));
  const words = document.toLowerCase().split(/\W+/).filter(Boolean);
  if (words.length === 0) return 0;
  return Math.round((words.filter((w) => q.has(w)).length / words.length) * 10_000) / 10_000;
}

export function rerankOrder(query: string, documents: string[], topN?: number): { index: number; relevance_score: number }[] {
  const scored = documents.map((d, index) => ({ index, relevance_score: rerankScore(query, d) }));
  scored.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  return scored.slice(0, topN ?? scored.length);
}

const docText = (d: unknown): string => (typeof d === 'string' ? d : isRecord(d) && typeof d.text === 'string' ? d.text : JSON.stringify(d));

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(text)), 'x-request-id': 'req_fake_endpoints' });
  res.end(text);
}

type Handler = (req: EndpointRequest, res: ServerResponse, model: string | undefined) => Promise<void> | void;

export async function startFakeEndpoints(): Promise<EndpointsFake> {
  const requests: EndpointRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        json = undefined;
      }
      const record: EndpointRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, json };
      requests.push(record);
      route(record, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { fake_error: String(err) });
        else res.destroy();
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const OPENAI_HANDLERS: Record<string, Handler> = {
  moderations: moderate,
  'images/generations': images,
  'audio/transcriptions': transcribe,
  'audio/speech': speak,
};

async function route(req: EndpointRequest, res: ServerResponse): Promise<void> {
  const [pathname = '', query = ''] = req.path.split('?');
  const auth = req.headers.authorization ?? '';
  if (req.method !== 'POST') return send(res, 405, openaiError('Method not allowed', 'invalid_request_error', null));
  const openai = /^\/v1\/(moderations|images\/generations|audio\/transcriptions|audio\/speech)$/.exec(pathname);
  if (openai?.[1] !== undefined) {
    if (auth !== `Bearer ${OPENAI_FAKE_KEY}`) return send(res, 401, openaiError('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
    return OPENAI_HANDLERS[openai[1]]!(req, res, undefined);
  }
  const azure = /^\/openai\/deployments\/([^/]+)\/(images\/generations|audio\/transcriptions|audio\/speech)$/.exec(pathname);
  if (azure?.[1] !== undefined && azure[2] !== undefined) {
    if (req.headers['api-key'] !== AZURE_FAKE_KEY) return send(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key.' } });
    if (!/(^|&)api-version=/.test(query)) return send(res, 404, { error: { code: '404', message: 'Resource not found' } });
    // Azure's deployment is the path's; the body's model (if any) is not looked at.
    return OPENAI_HANDLERS[azure[2]]!(req, res, decodeURIComponent(azure[1]));
  }
  if (pathname === '/v2/rerank') {
    if (auth.toLowerCase() !== `bearer ${COHERE_FAKE_KEY}`) return send(res, 401, { id: 'x', message: 'invalid api token' });
    return cohereRerank(req, res);
  }
  if (pathname === '/v1/rerank' || pathname === '/rerank') {
    if (auth !== `Bearer ${VLLM_FAKE_KEY}`) return send(res, 401, { object: 'error', message: 'Unauthorized', type: 'Unauthorized', code: 401 });
    return vllmRerank(req, res);
  }
  send(res, 404, openaiError(`Invalid URL (POST ${pathname})`, 'invalid_request_error', null));
}

function bad(res: ServerResponse, message: string, param: string): void {
  send(res, 400, openaiError(message, 'invalid_request_error', null, param));
}

function moderate(req: EndpointRequest, res: ServerResponse): void {
  const body = req.json;
  if (!isRecord(body) || body.input === undefined) return bad(res, "Missing required parameter: 'input'.", 'input');
  const inputs = Array.isArray(body.input) ? body.input.map(docText) : [docText(body.input)];
  const results = inputs.map((text) => {
    const violent = text.toLowerCase().includes('attack');
    return {
      flagged: violent,
      categories: { harassment: false, hate: false, 'self-harm': false, sexual: false, violence: violent },
      category_scores: { harassment: 0.0001, hate: 0.0001, 'self-harm': 0.0001, sexual: 0.0001, violence: violent ? 0.9731 : 0.0002 },
      category_applied_input_types: { harassment: ['text'], hate: ['text'], 'self-harm': ['text'], sexual: ['text'], violence: ['text'] },
    };
  });
  send(res, 200, { id: `modr-${createHash('sha256').update(req.raw).digest('hex').slice(0, 24)}`, model: typeof body.model === 'string' ? `${body.model}-2024-09-26` : 'omni-moderation-2024-09-26', results });
}

function images(req: EndpointRequest, res: ServerResponse, deployment: string | undefined): void {
  const body = req.json;
  if (!isRecord(body) || typeof body.prompt !== 'string') return bad(res, "Missing required parameter: 'prompt'.", 'prompt');
  const model = deployment ?? (typeof body.model === 'string' ? body.model : 'dall-e-2');
  const n = typeof body.n === 'number' ? body.n : 1;
  const created = 1_733_300_000;
  if (model.startsWith('gpt-image')) {
    const data = Array.from({ length: n }, (_, i) => ({ b64_json: speechAudio(`${body.prompt as string}#${i}`, 'png').toString('base64') }));
    const input = countWords(body.prompt);
    const output = n * IMAGE_OUTPUT_TOKENS;
    return send(res, 200, {
      created, background: 'opaque', data, output_format: 'png', quality: 'medium', size: body.size ?? '1024x1024',
      usage: { input_tokens: input, input_tokens_details: { image_tokens: 0, text_tokens: input }, output_tokens: output, total_tokens: input + output },
    });
  }
  const data = Array.from({ length: n }, (_, i) => ({ url: `https://images.example/${encodeURIComponent(model)}/${i}.png`, revised_prompt: `${body.prompt as string}, revised` }));
  send(res, 200, { created, data });
}

async function transcribe(req: EndpointRequest, res: ServerResponse, deployment: string | undefined): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return bad(res, 'Expected a multipart/form-data body', 'file');
  const form = await new Response(req.raw, { headers: { 'content-type': type } }).formData();
  const file = form.get('file');
  if (file === null || typeof file === 'string') return bad(res, "Missing required parameter: 'file'.", 'file');
  const field = (name: string): string | undefined => {
    const value = form.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const model = deployment ?? field('model') ?? '';
  const audio = Buffer.from(await file.arrayBuffer());
  const seconds = wavSeconds(audio);
  const text = transcriptText(file.name, audio.length);
  const format = field('response_format') ?? 'json';
  if (format === 'text') return send(res, 200, `${text}\n`, 'text/plain; charset=utf-8');
  if (model.includes('gpt-4o')) {
    const input = Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND);
    const output = countWords(text);
    return send(res, 200, { text, usage: { type: 'tokens', input_tokens: input, input_token_details: { text_tokens: 0, audio_tokens: input }, output_tokens: output, total_tokens: input + output } });
  }
  if (format === 'verbose_json') return send(res, 200, { task: 'transcribe', language: 'english', duration: seconds, text, segments: [] });
  send(res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(seconds) } });
}

async function speak(req: EndpointRequest, res: ServerResponse): Promise<void> {
  const body = req.json;
  if (!isRecord(body) || typeof body.input !== 'string') return bad(res, "Missing required parameter: 'input'.", 'input');
  if (typeof body.voice !== 'string') return bad(res, "Missing required parameter: 'voice'.", 'voice');
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
  const audio = speechAudio(body.input, format);
  res.writeHead(200, { 'content-type': AUDIO_TYPES[format] ?? 'application/octet-stream' });
  const size = Math.ceil(audio.length / SPEECH_CHUNKS);
  for (let i = 0; i < SPEECH_CHUNKS; i++) {
    res.write(audio.subarray(i * size, (i + 1) * size));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

function rerankInput(req: EndpointRequest, res: ServerResponse): { query: string; documents: string[]; topN: number | undefined; model: string } | undefined {
  const body = req.json;
  if (!isRecord(body) || typeof body.query !== 'string' || !Array.isArray(body.documents)) {
    send(res, 400, { message: 'invalid request: query and documents are required' });
    return undefined;
  }
  return { query: body.query, documents: body.documents.map(docText), topN: typeof body.top_n === 'number' ? body.top_n : undefined, model: String(body.model) };
}

function cohereRerank(req: EndpointRequest, res: ServerResponse): void {
  const input = rerankInput(req, res);
  if (input === undefined) return;
  send(res, 200, {
    id: `cohere-rerank-${createHash('sha256').update(req.raw).digest('hex').slice(0, 12)}`,
    results: rerankOrder(input.query, input.documents, input.topN),
    meta: { api_version: { version: '2' }, billed_units: { search_units: Math.ceil(input.documents.length / 100) } },
  });
}

function vllmRerank(req: EndpointRequest, res: ServerResponse): void {
  const input = rerankInput(req, res);
  if (input === undefined) return;
  const tokens = countWords(input.query) + input.documents.reduce((sum, d) => sum + countWords(d), 0);
  const results = rerankOrder(input.query, input.documents, input.topN).map((r) => ({ index: r.index, document: { text: input.documents[r.index] }, relevance_score: r.relevance_score }));
  send(res, 200, { id: 'rerank-fake-vllm-1', model: input.model, usage: { total_tokens: tokens }, results });
}
