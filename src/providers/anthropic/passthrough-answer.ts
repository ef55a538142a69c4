/**
 * The answer of an Anthropic-bodied passthrough, whoever hosts the model (Anthropic, Bedrock
 * InvokeModel, Vertex rawPredict): JSON bytes forwarded with their usage read, or a stream tapped by
 * the Anthropic inspector. Only how the stream's bytes are framed differs between hosts.
 */
import type { Usage } from '../../core/usage.js';
import { parseJsonBody } from '../shared/json-body.js';
import { scanAnswer } from '../shared/json-scan.js';
import type { PassthroughResponse, StreamTap } from '../types.js';
import { AnthropicTapInspector } from './tap.js';
import { parseAnthropicUsage } from './usage.js';

/** The bytes go to the client as they are: only `usage` and `model` are read, from the bytes when they can be. */
export function anthropicJsonAnswer(status: number, headers: Record<string, string>, bytes: Buffer, provider: string): PassthroughResponse {
  const scanned = scanAnswer(bytes);
  if (scanned !== undefined) return { kind: 'json', status, headers, body: bytes, usage: parseAnthropicUsage(scanned.usage), model: scanned.model };
  const message = parseJsonBody(bytes, provider);
  return {
    kind: 'json',
    status,
    headers,
    body: bytes,
    usage: parseAnthropicUsage(message.usage),
    model: typeof message.model === 'string' ? message.model : undefined,
  };
}

export function anthropicStreamAnswer(
  status: number,
  headers: Record<string, string>,
  annotate: ((usage: Usage) => Record<string, unknown> | undefined) | undefined,
  frame: (inspector: AnthropicTapInspector, tap: StreamTap) => AsyncIterable<Buffer | string>,
): PassthroughResponse {
  const tap: StreamTap = { usage: {}, completed: false, events: 0, answerStarted: false };
  return { kind: 'stream', status, headers, tap, chunks: frame(new AnthropicTapInspector(annotate), tap) };
}
