/**
 * The one way providers talk HTTP: undici with keep-alive pools, timeouts mapped to typed errors,
 * upstream error bodies turned into GatewayErrors that keep the upstream's status, message and
 * `retry-after`.
 *
 * Each upstream origin gets one undici Pool, created on its first request and reused for the life
 * of the process; each URL is resolved once to its pool and path, so a request is a Map lookup and
 * `pool.request`, not a URL parse and an Agent's origin lookup. The pool has no connection cap by
 * default: a cap holds streams past it in undici's queue, where they wait for a whole answer to end
 * (1000 open streams through a 512-connection Agent left ~490 waiting). LiteLLM users cap per-host
 * connections with `AIOHTTP_CONNECTOR_LIMIT_PER_HOST`; the same variable caps ours (0: no cap, as
 * for aiohttp). See docs/configuration.md.
 */
import { pipeline, type Readable } from 'node:stream';
import { constants as zlib, createBrotliDecompress, createGunzip, createInflate, type Gunzip, type BrotliDecompress, type Inflate } from 'node:zlib';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { errors, GatewayError, parseRetryAfter } from '../../core/errors.js';
import type { Deployment } from '../../core/deployment.js';
import type { UpstreamCall } from '../types.js';

/** The per-origin connection cap from the environment; `null` is undici's "no cap". */
export function connectionCap(env: Readonly<Record<string, string | undefined>> = process.env): number | null {
  const value = Number(env.AIOHTTP_CONNECTOR_LIMIT_PER_HOST ?? '');
  return Number.isInteger(value) && value > 0 ? value : null;
}

const pools = new Map<string, Pool>();
const targets = new Map<string, { pool: Pool; path: string }>();
/** URLs are a deployment's endpoint plus a fixed path; the bound only guards against a runaway set. */
const MAX_TARGETS = 10_000;
let cap: number | null | undefined;

/** The pool and path for a URL, resolved once. */
function targetOf(url: string): { pool: Pool; path: string } {
  const known = targets.get(url);
  if (known !== undefined) return known;
  const parsed = new URL(url);
  let pool = pools.get(parsed.origin);
  if (pool === undefined) {
    cap ??= connectionCap();
    pool = new Pool(parsed.origin, { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: cap });
    pools.set(parsed.origin, pool);
  }
  const target = { pool, path: `${parsed.pathname}${parsed.search}` };
  if (targets.size >= MAX_TARGETS) targets.clear();
  targets.set(url, target);
  return target;
}

/** Close every pool (tests and shutdown); later requests open new ones. */
export async function closeUpstreamPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  targets.clear();
  await Promise.all(all.map((pool) => pool.close()));
}

const headerCache = new WeakMap<Deployment, Map<string, Record<string, string>>>();
/** Variants per deployment (anthropic-version × anthropic-beta); past this they are built per request. */
const MAX_HEADER_VARIANTS = 32;

/**
 * Request headers that depend only on the deployment (and a small `variant`, such as the client's
 * anthropic-beta), built once and reused: `content-type` included, so postUpstream sends the object
 * as it is. Never mutate the result.
 */
export function deploymentHeaders(deployment: Deployment, variant: string, build: () => Record<string, string>): Record<string, string> {
  let variants = headerCache.get(deployment);
  if (variants === undefined) {
    variants = new Map<string, Record<string, string>>();
    headerCache.set(deployment, variants);
  }
  const known = variants.get(variant);
  if (known !== undefined) return known;
  const headers = withContentType(build());
  if (variants.size < MAX_HEADER_VARIANTS) variants.set(variant, headers);
  return headers;
}

const withContentType = (headers: Record<string, string>): Record<string, string> =>
  headers['content-type'] === undefined ? { 'content-type': 'application/json', ...headers } : headers;

/** An upstream body: undici's own, or the decoder it is piped through when it is content-encoded. */
export type ResponseBody = Readable;

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: ResponseBody;
}

export interface UpstreamErrorInfo {
  message: string;
  type?: string | undefined;
}

export interface PostOptions {
  provider: string;
  stream: boolean;
  /** Extracts the provider's message and error type from an error body (and headers, for AWS). */
  parseError: (status: number, text: string, headers: Record<string, string>) => UpstreamErrorInfo;
  /** POST unless said (a stored response is read with GET and removed with DELETE, without a body). */
  method?: 'POST' | 'GET' | 'DELETE' | undefined;
}

const MAX_ERROR_BODY = 64 * 1024;

export async function postUpstream(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
  call: UpstreamCall,
  options: PostOptions,
): Promise<UpstreamResponse> {
  const { deployment } = call;
  // A stream must start within stream_timeout and never go quiet for longer; a plain request must
  // finish within timeout.
  const headersTimeout = options.stream ? deployment.streamTimeoutMs : deployment.timeoutMs;
  const bodyTimeout = options.stream ? deployment.streamTimeoutMs : deployment.timeoutMs;
  let response: Dispatcher.ResponseData;
  try {
    const { pool, path } = targetOf(url);
    // The caller's signal is the only abort: the client going away, or the attempt's deadline.
    const method = options.method ?? 'POST';
    // Added after signing: SigV4 signs only the headers it lists.
    const traced = call.traceparent === undefined ? headers : { ...headers, traceparent: call.traceparent };
    const sent = method === 'POST' ? { headers: withContentType(traced), body } : { headers: traced };
    response = await pool.request({ method, path, ...sent, signal: call.signal, headersTimeout, bodyTimeout });
  } catch (err) {
    throw mapTransportError(err, options.provider, url);
  }
  const flatHeaders = flattenHeaders(response.headers);
  const decoded = decodedBody(response.body, flatHeaders);
  if (response.statusCode >= 200 && response.statusCode < 300) {
    return { status: response.statusCode, headers: flatHeaders, body: decoded };
  }
  const text = await readLimited(decoded, MAX_ERROR_BODY).catch(() => '');
  throw upstreamHttpError(response.statusCode, text, flatHeaders, options);
}

/**
 * undici's `request`, unlike `fetch`, hands over the body as it came off the wire: a gzip, br or
 * deflate body (a proxy in front of the provider may compress even unasked) is decoded here, as it
 * streams, with backpressure; the encoding headers go, since what follows is the decoded bytes.
 * Like `fetch`, a compressed body that ends early is not an error of its own (SYNC_FLUSH): the
 * JSON or SSE reader notices the missing end. A read error of the upstream reaches the reader as it is.
 */
function decodedBody(body: Readable, headers: Record<string, string>): Readable {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined) return body;
  const decoder = decoderFor(encoding);
  if (decoder === undefined) return body;
  delete headers['content-encoding'];
  delete headers['content-length'];
  pipeline(body, decoder, () => undefined);
  return decoder;
}

function decoderFor(encoding: string): Gunzip | BrotliDecompress | Inflate | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
    case 'br':
      return createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH, finishFlush: zlib.BROTLI_OPERATION_FLUSH });
    case 'deflate':
      return createInflate({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
    default:
      return undefined;
  }
}

export function upstreamHttpError(
  status: number,
  text: string,
  headers: Record<string, string>,
  options: Pick<PostOptions, 'provider' | 'parseError'>,
): GatewayError {
  const info = options.parseError(status, text, headers);
  return errors.upstream(status, {
    message: info.message,
    retryAfterSeconds: parseRetryAfter(headers['retry-after'], headers['retry-after-ms']),
    upstream: { status, body: text.slice(0, 4096), type: info.type, provider: options.provider },
  });
}

export function mapTransportError(err: unknown, provider: string, url: string): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof undiciErrors.RequestAbortedError || (err instanceof Error && err.name === 'AbortError')) {
    return errors.clientDisconnected(err, 'Request aborted');
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return errors.timeout(`Timed out waiting for ${provider} (${err.message})`, { upstream: { provider }, cause: err });
  }
  const reason = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);
  return errors.upstreamConnection(`Could not reach ${provider} at ${new URL(url).origin} (${reason})`, { upstream: { provider }, cause: err });
}

export function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function readLimited(body: ResponseBody, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

/** Read a whole successful body, mapping a mid-body timeout or reset to a typed error. */
export async function readBody(body: ResponseBody, provider: string, url: string): Promise<Buffer> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks);
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
}

/** Join a configured base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
