/**
 * The one way providers talk HTTP: undici with keep-alive pools, timeouts mapped to typed errors,
 * upstream error bodies turned into GatewayErrors that keep the upstream's status, message and
 * `retry-after`.
 */
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { classifyUpstreamStatus, GatewayError, parseRetryAfter } from '../../core/errors.js';
import type { UpstreamCall } from '../types.js';

const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 512 });

export type ResponseBody = Dispatcher.ResponseData['body'];

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
    response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: call.signal,
      dispatcher: agent,
      headersTimeout,
      bodyTimeout,
    });
  } catch (err) {
    throw mapTransportError(err, options.provider, url);
  }
  const flatHeaders = flattenHeaders(response.headers);
  if (response.statusCode >= 200 && response.statusCode < 300) {
    return { status: response.statusCode, headers: flatHeaders, body: response.body };
  }
  const text = await readLimited(response.body, MAX_ERROR_BODY).catch(() => '');
  throw upstreamHttpError(response.statusCode, text, flatHeaders, options);
}

export function upstreamHttpError(
  status: number,
  text: string,
  headers: Record<string, string>,
  options: Pick<PostOptions, 'provider' | 'parseError'>,
): GatewayError {
  const info = options.parseError(status, text, headers);
  const { code, retryable } = classifyUpstreamStatus(status);
  return new GatewayError({
    code,
    status,
    message: info.message,
    retryable,
    retryAfterSeconds: parseRetryAfter(headers['retry-after'], headers['retry-after-ms']),
    upstream: { status, body: text.slice(0, 4096), type: info.type, provider: options.provider },
  });
}

export function mapTransportError(err: unknown, provider: string, url: string): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof undiciErrors.RequestAbortedError || (err instanceof Error && err.name === 'AbortError')) {
    return new GatewayError({ code: 'client_disconnected', status: 499, message: 'Request aborted', cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError({
      code: 'timeout',
      status: 408,
      message: `Timed out waiting for ${provider} (${err.message})`,
      retryable: true,
      upstream: { provider },
      cause: err,
    });
  }
  const reason = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);
  return new GatewayError({
    code: 'upstream_connection',
    status: 502,
    message: `Could not reach ${provider} at ${new URL(url).origin} (${reason})`,
    retryable: true,
    upstream: { provider },
    cause: err,
  });
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
