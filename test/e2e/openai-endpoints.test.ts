/**
 * Moderations, image generation, audio transcription and speech, and rerank end to end: the official
 * openai SDK (where it has the method) against the real gateway, in front of fakes speaking OpenAI's,
 * Azure's, Cohere's and vLLM's wire. Checked: what went upstream (the client's bytes with only the
 * model rewritten, the WAV byte for byte), what came back, each call's one record, its usage, and its
 * cost computed here by hand from the configured per-unit prices.
 */
import { toFile, type OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendLogRow } from '../../src/accounting/spend-row.js';
import type { JsonObject } from '../../src/core/json.js';
import { countWords } from '../fakes/common.js';
import {
  AUDIO_TOKENS_PER_SECOND, ENDPOINTS_FAKE_KEYS as KEYS, IMAGE_OUTPUT_TOKENS, makeWav, rerankOrder, speechAudio, startFakeEndpoints, transcriptText, wavSeconds,
  type EndpointRequest, type EndpointsFake,
} from '../fakes/openai-endpoints-upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, newCallId, openaiClient, postJson, recordFor } from './harness.js';

const PER_REQUEST = 0.0001;
const PER_IMAGE = 0.04;
const PER_PIXEL = 1.9e-8;
const IMAGE_IN = 0.000005;
const IMAGE_OUT = 0.00004;
const PER_SECOND = 0.0001;
const AUDIO_IN = 0.0000025;
const AUDIO_OUT = 0.00001;
const PER_CHARACTER = 0.000015;
const PER_QUERY = 0.002;
const RERANK_TOKEN = 0.0000001;
const nano = (usd: number): number => Math.round(usd * 1e9);

let fake: EndpointsFake;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeEndpoints();
  const openai = `api_base: "${fake.url}/v1", api_key: ${KEYS.openai}`;
  const azure = `api_base: "${fake.url}", api_key: ${KEYS.azure}, api_version: "2024-10-21"`;
  gw = await startGateway(`
model_list:
  - model_name: moderation
    litellm_params: { model: openai/omni-moderation-latest, ${openai} }
  - model_name: moderation-priced
    litellm_params: { model: openai/omni-moderation-latest, ${openai}, input_cost_per_request: ${PER_REQUEST} }
  - model_name: dall-e-3
    litellm_params: { model: openai/dall-e-3, ${openai}, output_cost_per_image: ${PER_IMAGE} }
  - model_name: dall-e-2
    litellm_params: { model: openai/dall-e-2, ${openai}, input_cost_per_pixel: ${PER_PIXEL} }
  - model_name: gpt-image
    litellm_params: { model: openai/gpt-image-1, ${openai}, input_cost_per_token: ${IMAGE_IN}, output_cost_per_token: ${IMAGE_OUT} }
  - model_name: azure-image
    litellm_params: { model: azure/dalle3-prod, ${azure}, output_cost_per_image: ${PER_IMAGE} }
  - model_name: whisper
    litellm_params: { model: openai/whisper-1, ${openai}, input_cost_per_second: ${PER_SECOND} }
  - model_name: transcribe
    litellm_params: { model: openai/gpt-4o-transcribe, ${openai}, input_cost_per_token: ${AUDIO_IN}, output_cost_per_token: ${AUDIO_OUT} }
  - model_name: azure-whisper
    litellm_params: { model: azure/whisper-prod, ${azure}, input_cost_per_second: ${PER_SECOND} }
  - model_name: tts
    litellm_params: { model: openai/tts-1, ${openai}, input_cost_per_character: ${PER_CHARACTER} }
  - model_name: azure-tts
    litellm_params: { model: azure/tts-prod, ${azure}, input_cost_per_character: ${PER_CHARACTER} }
  - model_name: cohere-rerank
    litellm_params: { model: cohere/rerank-v3.5, api_base: "${fake.url}", api_key: ${KEYS.cohere}, input_cost_per_query: ${PER_QUERY} }
  - model_name: vllm-rerank
    litellm_params: { model: hosted_vllm/BAAI/bge-reranker-v2-m3, api_base: "${fake.url}/v1", api_key: ${KEYS.vllm}, input_cost_per_token: ${RERANK_TOKEN} }
  - model_name: mock-test
    litellm_params: { model: mock/mock-test }
general_settings: { master_key: ${MASTER_KEY} }
`);
  client = openaiClient(gw.url);
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

const lastSent = (): EndpointRequest => fake.requests.at(-1)!;
const withId = (): { callId: string; options: { headers: Record<string, string> } } => {
  const callId = newCallId();
  return { callId, options: { headers: { 'x-litellm-call-id': callId } } };
};

describe('moderations', () => {
  it('the SDK call goes up with the model rewritten and comes back as OpenAI sent it; usage 0, free at OpenAI', async () => {
    const { callId, options } = withId();
    const input = ['hello there', 'we attack at dawn'];
    const answer = await client.moderations.create({ model: 'moderation', input }, options);
    expect(lastSent().path).toBe('/v1/moderations');
    expect(lastSent().json).toEqual({ model: 'omni-moderation-latest', input });
    expect(answer.results.map((r) => r.flagged)).toEqual([false, true]);
    expect(answer.model).toBe('omni-moderation-latest-2024-09-26');
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-moderations', outcome: 'success', passthrough: true, costNanoUsd: 0, upstreamModel: 'omni-moderation-latest' });
    expect(record.usage).toMatchObject({ inputUncached: 0, output: 0 });
    expect(spendLogRow(record).log.call_type).toBe('amoderation');
  });

  it('a deployment with input_cost_per_request costs that per call', async () => {
    const { callId } = withId();
    const res = await postJson(gw.url, '/moderations', { model: 'moderation-priced', input: 'hi' }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('x-litellm-response-cost'))).toBeCloseTo(PER_REQUEST, 12);
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(nano(PER_REQUEST));
  });
});

describe('images', () => {
  it('dall-e-3: per image; the answer is the upstream\'s', async () => {
    const { callId, options } = withId();
    const answer = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse at dusk', size: '1024x1024' }, options);
    expect(lastSent().json).toEqual({ model: 'dall-e-3', prompt: 'a lighthouse at dusk', size: '1024x1024' });
    expect(answer.data?.[0]?.url).toBe('https://images.example/dall-e-3/0.png');
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-images', costNanoUsd: nano(PER_IMAGE) });
    expect(spendLogRow(record).log.call_type).toBe('aimage_generation');
  });

  it('dall-e-2: per pixel × n images, as LiteLLM prices it', async () => {
    const { callId, options } = withId();
    await client.images.generate({ model: 'dall-e-2', prompt: 'two cats', n: 2, size: '512x512' }, options);
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(nano(2 * 512 * 512 * PER_PIXEL));
  });

  it('gpt-image-1: its usage tokens are read from after the base64 images and priced per token', async () => {
    const { callId, options } = withId();
    const prompt = 'a red bicycle leaning on a wall';
    const answer = await client.images.generate({ model: 'gpt-image', prompt, n: 2 }, options);
    expect(answer.data).toHaveLength(2);
    expect(answer.data?.[1]?.b64_json).toBe(speechAudio(`${prompt}#1`, 'png').toString('base64'));
    const record = await recordFor(gw.gateway, callId);
    const input = countWords(prompt);
    const output = 2 * IMAGE_OUTPUT_TOKENS;
    expect(record.usage).toMatchObject({ inputUncached: input, output });
    expect(record.costNanoUsd).toBe(nano(input * IMAGE_IN + output * IMAGE_OUT));
  });

  it('the Azure-style route takes the model from the path; Azure gets its deployment URL', async () => {
    const { callId } = withId();
    const res = await postJson(gw.url, '/openai/deployments/azure-image/images/generations?api-version=2024-10-21', { prompt: 'a fox' }, { 'x-litellm-call-id': callId });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(lastSent().path).toBe('/openai/deployments/dalle3-prod/images/generations?api-version=2024-10-21');
    expect(lastSent().headers['api-key']).toBe(KEYS.azure);
    expect((await recordFor(gw.gateway, callId)).costNanoUsd).toBe(nano(PER_IMAGE));
  });
});

describe('audio transcriptions (multipart)', () => {
  const wav = makeWav(2.5);
  const seconds = wavSeconds(wav);

  /** The WAV as the fake received it, read by undici's own multipart parser. */
  async function sentForm(): Promise<FormData> {
    const sent = lastSent();
    return new Response(sent.raw, { headers: { 'content-type': String(sent.headers['content-type']) } }).formData();
  }

  it('whisper-1: the form goes up as bytes with the model rewritten; priced per second', async () => {
    const { callId, options } = withId();
    const answer = await client.audio.transcriptions.create({ model: 'whisper', file: await toFile(wav, 'hello.wav', { type: 'audio/wav' }), language: 'en' }, options);
    expect(answer.text).toBe(transcriptText('hello.wav', wav.length));
    expect(lastSent().path).toBe('/v1/audio/transcriptions');
    const form = await sentForm();
    expect(form.get('model')).toBe('whisper-1');
    expect(form.get('language')).toBe('en');
    const file = form.get('file') as File;
    expect(file.name).toBe('hello.wav');
    expect(Buffer.from(await file.arrayBuffer()).equals(wav)).toBe(true);
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-audio-transcriptions', passthrough: true, costNanoUsd: nano(Math.ceil(seconds) * PER_SECOND) });
    expect(spendLogRow(record).log.call_type).toBe('atranscription');
  });

  it('the upstream gets the client\'s own form bytes, only the model value replaced', async () => {
    const boundary = '----tollgate-test-boundary';
    const part = (head: string, value: Buffer | string): Buffer => Buffer.concat([Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')]);
    // Repeated `tags` fields are LiteLLM's routing tags (a list): taken out of the bytes, not sent upstream.
    const tags = [part('Content-Disposition: form-data; name="tags"', 'team-a'), part('Content-Disposition: form-data; name="tags"', 'batch')];
    const form = (model: string, extra: Buffer[] = []): Buffer => Buffer.concat([
      part('Content-Disposition: form-data; name="file"; filename="raw.wav"\r\nContent-Type: audio/wav', wav),
      part('Content-Disposition: form-data; name="model"', model),
      ...extra,
      part('Content-Disposition: form-data; name="prompt"', 'names: Ada, Grace'),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${gw.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: form('whisper', tags),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(lastSent().raw.toString('latin1')).toBe(form('whisper-1').toString('latin1'));
    expect(lastSent().headers['content-type']).toBe(`multipart/form-data; boundary=${boundary}`);
  });

  it('verbose_json: the duration prices it; text: the transcript comes back as text/plain, cost unknown', async () => {
    const verbose = withId();
    const answer = await client.audio.transcriptions.create({ model: 'whisper', file: await toFile(wav, 'v.wav'), response_format: 'verbose_json' }, verbose.options);
    expect(answer.duration).toBe(seconds);
    expect((await recordFor(gw.gateway, verbose.callId)).costNanoUsd).toBe(nano(seconds * PER_SECOND));
    const text = withId();
    const plain = await client.audio.transcriptions.create({ model: 'whisper', file: await toFile(wav, 't.wav'), response_format: 'text' }, text.options);
    expect(String(plain)).toBe(`${transcriptText('t.wav', wav.length)}\n`);
    const record = await recordFor(gw.gateway, text.callId);
    expect(record).toMatchObject({ outcome: 'success', costNanoUsd: null });
  });

  it('gpt-4o-transcribe: priced on the tokens the answer reports', async () => {
    const { callId, options } = withId();
    const answer = await client.audio.transcriptions.create({ model: 'transcribe', file: await toFile(wav, 'x.wav') }, options);
    const input = Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND);
    const output = countWords(answer.text);
    const record = await recordFor(gw.gateway, callId);
    expect(record.usage).toMatchObject({ inputUncached: input, output });
    expect(record.costNanoUsd).toBe(nano(input * AUDIO_IN + output * AUDIO_OUT));
  });

  it('Azure: to the deployment\'s audio path', async () => {
    await client.audio.transcriptions.create({ model: 'azure-whisper', file: await toFile(wav, 'a.wav') });
    expect(lastSent().path).toBe('/openai/deployments/whisper-prod/audio/transcriptions?api-version=2024-10-21');
    expect((await sentForm()).get('model')).toBe('whisper-prod');
  });

  it('a body without a file, or not a form, is a 400 naming file', async () => {
    for (const res of [
      await postJson(gw.url, '/v1/audio/transcriptions', { model: 'whisper' }),
      await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: (() => { const f = new FormData(); f.set('model', 'whisper'); return f; })() }),
    ]) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: JsonObject }).error).toMatchObject({ param: 'file', code: '400' });
    }
  });
});

describe('audio speech (binary out)', () => {
  it('the audio streams through as the upstream\'s bytes and content type; priced per character', async () => {
    const { callId, options } = withId();
    const input = 'Hello world, héllo';
    const response = await client.audio.speech.create({ model: 'tts', voice: 'alloy', input }, options);
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await response.arrayBuffer()).equals(speechAudio(input, 'mp3'))).toBe(true);
    expect(lastSent().json).toEqual({ model: 'tts-1', voice: 'alloy', input });
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'openai-audio-speech', outcome: 'success', costNanoUsd: nano([...input].length * PER_CHARACTER) });
    expect(spendLogRow(record).log.call_type).toBe('aspeech');
  });

  it('Azure: the deployment path, wav passes with its content type', async () => {
    const response = await client.audio.speech.create({ model: 'azure-tts', voice: 'nova', input: 'hi', response_format: 'wav' });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await response.arrayBuffer()).equals(speechAudio('hi', 'wav'))).toBe(true);
    expect(lastSent().path).toBe('/openai/deployments/tts-prod/audio/speech?api-version=2024-10-21');
  });
});

describe('rerank', () => {
  const query = 'what is the capital of france';
  const documents = ['Paris is the capital of France', 'Berlin is in Germany', 'the capital city'];

  it('Cohere: /v2/rerank with the model rewritten, Cohere\'s answer back, priced per search unit', async () => {
    const { callId } = withId();
    const res = await postJson(gw.url, '/v1/rerank', { model: 'cohere-rerank', query, documents, top_n: 2 }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(200);
    expect(lastSent().path).toBe('/v2/rerank');
    expect(lastSent().json).toEqual({ model: 'rerank-v3.5', query, documents, top_n: 2 });
    const answer = (await res.json()) as JsonObject;
    expect(answer.results).toEqual(rerankOrder(query, documents, 2));
    expect(answer.meta).toMatchObject({ billed_units: { search_units: 1 } });
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ surface: 'rerank', costNanoUsd: nano(PER_QUERY) });
    expect(spendLogRow(record).log.call_type).toBe('arerank');
    // 150 documents are two search units.
    const many = withId();
    const big = Array.from({ length: 150 }, (_, i) => `document number ${i}`);
    expect((await postJson(gw.url, '/v2/rerank', { model: 'cohere-rerank', query, documents: big }, { 'x-litellm-call-id': many.callId })).status).toBe(200);
    expect((await recordFor(gw.gateway, many.callId)).costNanoUsd).toBe(nano(2 * PER_QUERY));
  });

  it('vLLM: {api_base}/rerank, the answer in LiteLLM\'s shape, priced per token', async () => {
    const { callId } = withId();
    const res = await postJson(gw.url, '/rerank', { model: 'vllm-rerank', query, documents }, { 'x-litellm-call-id': callId });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(lastSent().path).toBe('/v1/rerank');
    expect(lastSent().json).toMatchObject({ model: 'BAAI/bge-reranker-v2-m3' });
    const tokens = countWords(query) + documents.reduce((s, d) => s + countWords(d), 0);
    expect(await res.json()).toEqual({
      id: 'rerank-fake-vllm-1',
      results: rerankOrder(query, documents).map((r) => ({ ...r, document: { text: documents[r.index] } })),
      meta: { billed_units: { total_tokens: tokens }, tokens: { input_tokens: tokens } },
    });
    const record = await recordFor(gw.gateway, callId);
    expect(record.usage).toMatchObject({ inputUncached: tokens, output: 0 });
    expect(record.costNanoUsd).toBe(nano(tokens * RERANK_TOKEN));
  });
});

describe('what cannot be served', () => {
  it('a deployment without the endpoint is a 400 naming model; bad bodies name their field; a bad key is a 401', async () => {
    const { callId } = withId();
    const res = await postJson(gw.url, '/v1/images/generations', { model: 'mock-test', prompt: 'x' }, { 'x-litellm-call-id': callId });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: JsonObject }).error;
    expect(error).toMatchObject({ param: 'model', code: '400' });
    expect(String(error.message)).toContain('does not serve image generation');
    expect((await recordFor(gw.gateway, callId)).outcome).toBe('failure');
    const cases: [string, unknown, string][] = [
      ['/v1/moderations', { model: 'moderation' }, 'input'],
      ['/v1/images/generations', { model: 'dall-e-3' }, 'prompt'],
      ['/v1/images/generations', { model: 'dall-e-3', prompt: 'x', n: 0 }, 'n'],
      ['/v1/audio/speech', { model: 'tts', input: 'hi' }, 'voice'],
      ['/v1/rerank', { model: 'cohere-rerank', query: 'q', documents: [] }, 'documents'],
      ['/v1/rerank', { query: 'q', documents: ['a'] }, 'model'],
    ];
    for (const [path, body, param] of cases) {
      const bad = await postJson(gw.url, path, body);
      expect(bad.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(((await bad.json()) as { error: JsonObject }).error).toMatchObject({ param });
    }
    expect((await postJson(gw.url, '/v1/moderations', { model: 'moderation', input: 'x' }, { authorization: 'Bearer sk-wrong' })).status).toBe(401);
  });
});
