/** core's event-stream frame encoder, checked against AWS's own codec (@smithy/eventstream-codec). */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { crc32, encodeEventStreamFrame } from '../../src/core/event-stream-frame.js';
import { bedrockStreamError } from '../../src/protocols/bedrock-runtime/errors.js';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

describe('encodeEventStreamFrame', () => {
  it('CRC-32 of the standard check string is 0xCBF43926', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('writes the same bytes as AWS codec, which decodes and verifies them', () => {
    const headers = { ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' };
    const payload = JSON.stringify({ message: 'Too many requests, ünïcode' });
    const ours = encodeEventStreamFrame(headers, payload);
    const theirs = codec.encode({
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { type: 'string' as const, value: v }])),
      body: new Uint8Array(Buffer.from(payload, 'utf8')),
    });
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    const decoded = codec.decode(ours);
    expect(decoded.headers[':exception-type']).toEqual({ type: 'string', value: 'throttlingException' });
    expect(Buffer.from(decoded.body).toString('utf8')).toBe(payload);
  });

  it('bedrockStreamError names the AWS exception the error code implies, camel-cased', () => {
    const frame = bedrockStreamError(new GatewayError({ code: 'rate_limit', status: 429, message: 'slow down' }));
    const decoded = codec.decode(frame);
    expect(decoded.headers[':message-type']).toEqual({ type: 'string', value: 'exception' });
    expect(decoded.headers[':exception-type']).toEqual({ type: 'string', value: 'throttlingException' });
    expect(JSON.parse(Buffer.from(decoded.body).toString('utf8'))).toEqual({ message: 'slow down' });
  });
});
