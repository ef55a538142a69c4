/**
 * The multipart reader and editor (core/multipart.ts) against forms built here byte by byte, and the
 * per-unit prices (accounting/endpoint-pricing.ts) against amounts computed by hand.
 */
import { describe, expect, it } from 'vitest';
import { endpointCost } from '../../src/accounting/endpoint-pricing.js';
import { Pricing } from '../../src/accounting/pricing.js';
import type { Deployment } from '../../src/core/deployment.js';
import { boundaryOf, formFields, formParts, replaceFormField, withoutFormFields } from '../../src/core/multipart.js';

const B = 'XyZ-boundary';
const part = (head: string, value: Buffer | string): Buffer => Buffer.concat([Buffer.from(`--${B}\r\n${head}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')]);
const end = Buffer.from(`--${B}--\r\n`);
// File content holding CRLFs and a near-boundary line: only `\r\n--XyZ-boundary` ends a part.
const FILE = Buffer.from(`RIFF\r\n--XyZ-boundar\r\n\r\n\x00\x01--${B}x`, 'latin1');
const form = (model: string, extra: Buffer[] = []): Buffer =>
  Buffer.concat([part('Content-Disposition: form-data; name="model"', model), part('content-disposition: form-data; name="file"; filename="a b.wav"\r\nContent-Type: audio/wav', FILE), ...extra, end]);

describe('multipart', () => {
  it('finds the boundary, plain or quoted, only on form-data', () => {
    expect(boundaryOf(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(boundaryOf(`Multipart/Form-Data; charset=utf-8; boundary="${B}"`)).toBe(B);
    expect(boundaryOf('application/json')).toBeUndefined();
    expect(boundaryOf('multipart/form-data')).toBeUndefined();
  });

  it('reads text fields and file parts without copying the file; repeated names become lists', () => {
    const raw = form('whisper', [part('Content-Disposition: form-data; name="g[]"', 'word'), part('Content-Disposition: form-data; name="g[]"', 'segment')]);
    const parts = formParts(raw, B)!;
    expect(parts.map((p) => p.name)).toEqual(['model', 'file', 'g[]', 'g[]']);
    expect(raw.subarray(parts[1]!.valueStart, parts[1]!.valueEnd).equals(FILE)).toBe(true);
    expect(formFields(raw, parts)).toEqual({ model: 'whisper', file: { filename: 'a b.wav', content_type: 'audio/wav', bytes: FILE.length }, 'g[]': ['word', 'segment'] });
  });

  it('replaces a field and removes fields by splicing, leaving every other byte as it was', () => {
    const raw = form('whisper', [part('Content-Disposition: form-data; name="num_retries"', '2')]);
    const parts = formParts(raw, B)!;
    expect(replaceFormField(raw, parts, 'model', 'whisper-1')!.equals(form('whisper-1', [part('Content-Disposition: form-data; name="num_retries"', '2')]))).toBe(true);
    expect(withoutFormFields(raw, parts, new Set(['num_retries'])).equals(form('whisper'))).toBe(true);
    expect(replaceFormField(raw, parts, 'language', 'en')).toBeUndefined();
  });

  it('a form that does not end, or has a part without a name, is not a form', () => {
    const raw = form('whisper');
    expect(formParts(raw.subarray(0, raw.length - end.length - 4), B)).toBeUndefined();
    expect(formParts(Buffer.concat([part('Content-Type: text/plain', 'x'), end]), B)).toBeUndefined();
    expect(formParts(raw, 'other')).toBeUndefined();
  });
});

describe('per-unit prices', () => {
  const pricing = new Pricing();
  const deployment = (provider: string, model: string, params: Record<string, unknown> = {}, modelInfo?: Record<string, unknown>): Deployment =>
    ({ id: `${provider}-${model}`, provider, model, params: { model: `${provider}/${model}`, ...params }, modelInfo }) as unknown as Deployment;

  it('images per image, else per pixel; tokens win when priced', () => {
    expect(endpointCost('image', {}, { images: 3 }, deployment('openai', 'dall-e-3', { output_cost_per_image: 0.04 }), 'dall-e-3', pricing).nanoUsd).toBe(120_000_000);
    expect(endpointCost('image', {}, { images: 2, pixelsPerImage: 256 * 256 }, deployment('openai', 'dall-e-2', {}, { input_cost_per_pixel: 2e-8 }), 'dall-e-2', pricing).nanoUsd).toBe(Math.round(2 * 65536 * 2e-8 * 1e9));
    const tokens = endpointCost('image', { inputUncached: 10, output: 100 }, { images: 1 }, deployment('openai', 'gpt-image-x', { input_cost_per_token: 1e-6, output_cost_per_token: 1e-5, output_cost_per_image: 9 }), 'gpt-image-x', pricing);
    expect(tokens.nanoUsd).toBe(10 * 1000 + 100 * 10_000);
    expect(endpointCost('image', {}, { images: 1 }, deployment('openai', 'unpriced-image'), 'unpriced-image', pricing)).toMatchObject({ nanoUsd: null, reason: 'no_price' });
  });

  it('seconds, characters, queries, requests; null when no rate covers the call', () => {
    expect(endpointCost('transcription', {}, { seconds: 61 }, deployment('openai', 'w', { input_cost_per_second: 0.0001 }), 'w', pricing).nanoUsd).toBe(6_100_000);
    expect(endpointCost('transcription', {}, {}, deployment('openai', 'w', { input_cost_per_second: 0.0001 }), 'w', pricing).nanoUsd).toBeNull();
    expect(endpointCost('speech', {}, { characters: 1000 }, deployment('openai', 't', { input_cost_per_character: 0.000015 }), 't', pricing).nanoUsd).toBe(15_000_000);
    expect(endpointCost('rerank', {}, { searchUnits: 3 }, deployment('cohere', 'r', { input_cost_per_query: 0.002 }), 'r', pricing).nanoUsd).toBe(6_000_000);
    expect(endpointCost('rerank', {}, {}, deployment('cohere', 'r', { input_cost_per_query: 0.002 }), 'r', pricing).nanoUsd).toBe(2_000_000);
    expect(endpointCost('moderation', {}, {}, deployment('openai', 'm'), 'm', pricing).nanoUsd).toBe(0);
    expect(endpointCost('moderation', {}, {}, deployment('hosted_vllm', 'm'), 'm', pricing).nanoUsd).toBeNull();
    expect(endpointCost('moderation', {}, {}, deployment('hosted_vllm', 'm', { input_cost_per_request: 0.001 }), 'm', pricing).nanoUsd).toBe(1_000_000);
  });
});
