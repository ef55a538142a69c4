/**
 * Shared setup for the native-ingress tests: a real gateway with the native routes, and clients
 * that send exactly what Claude Code sends in Bedrock and Vertex mode (research/clients.md). The
 * official AnthropicBedrock / AnthropicVertex clients live in separate packages
 * (@anthropic-ai/bedrock-sdk, @anthropic-ai/vertex-sdk) that are not installed, so requests are
 * built by hand from the recorded shapes.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY } from '../e2e/harness.js';

/** A real gateway (the native routes are part of the app). */
export function startNativeGateway(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<TestGateway> {
  return startGateway(yaml, env);
}

/** Claude Code's headers in Bedrock mode with CLAUDE_CODE_SKIP_BEDROCK_AUTH and ANTHROPIC_API_KEY set. */
export function bedrockModeHeaders(callId: string, key = MASTER_KEY): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'claude-cli/2.1.197 (external, sdk-cli)',
    'x-app': 'cli',
    'anthropic-beta': 'claude-code-20250219',
    'x-api-key': key,
    'x-stainless-timeout': '600',
    'x-litellm-call-id': callId,
  };
}

/** Claude Code's headers in Vertex mode (CLAUDE_CODE_SKIP_VERTEX_AUTH; the key as a bearer). */
export function vertexModeHeaders(callId: string, key = MASTER_KEY): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'claude-cli/2.1.197 (external, sdk-cli)',
    'x-app': 'cli',
    'anthropic-version': '2023-06-01',
    'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,web-search-2025-03-05',
    authorization: `Bearer ${key}`,
    'x-litellm-call-id': callId,
  };
}

export interface DecodedFrame {
  headers: Record<string, string>;
  payload: string;
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** Splits an AWS event stream into frames with the codec (CRCs checked), as the AWS SDK does. */
export function decodeFrames(bytes: Buffer): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let offset = 0;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const message = codec.decode(new Uint8Array(bytes.subarray(offset, offset + length)));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value.value);
    frames.push({ headers, payload: Buffer.from(message.body).toString('utf8') });
    offset += length;
  }
  if (offset !== bytes.length) throw new Error(`${bytes.length - offset} bytes left after the last frame`);
  return frames;
}

/** The Anthropic events inside an InvokeModel stream's `chunk` frames. */
export function invokeEvents(frames: DecodedFrame[]): Record<string, unknown>[] {
  return frames
    .filter((f) => f.headers[':event-type'] === 'chunk')
    .map((f) => JSON.parse(Buffer.from((JSON.parse(f.payload) as { bytes: string }).bytes, 'base64').toString('utf8')) as Record<string, unknown>);
}
