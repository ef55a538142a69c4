/**
 * LiteLLM's audio routes, through handleEndpoint: `POST /v1/audio/transcriptions` and
 * `/audio/transcriptions` (a multipart form passed on as its bytes, `model` rewritten; call type
 * `atranscription`, priced per second or by token) and `/v1/audio/speech`, `/audio/speech` (JSON
 * in, the upstream's audio streamed out; `aspeech`, priced per character of `input`).
 */
import type { FastifyInstance } from 'fastify';
import { speechUnits, validateSpeechRequest, validateTranscriptionRequest } from '../../protocols/openai-endpoints/request.js';
import type { CallDeps } from '../call/deps.js';
import { handleEndpoint, type EndpointSpec } from './endpoint-call.js';

const TRANSCRIPTIONS: EndpointSpec = {
  surface: 'openai-audio-transcriptions',
  route: '/v1/audio/transcriptions',
  dialect: 'openai-audio-transcriptions',
  endpoint: 'audio transcriptions',
  kind: 'transcription',
  validate: validateTranscriptionRequest,
};

const SPEECH: EndpointSpec = {
  surface: 'openai-audio-speech',
  route: '/v1/audio/speech',
  dialect: 'openai-audio-speech',
  endpoint: 'audio speech',
  kind: 'speech',
  validate: validateSpeechRequest,
  requestUnits: speechUnits,
};

export function registerAudioRoutes(app: FastifyInstance, deps: CallDeps): void {
  const openai = { config: { surface: 'openai' as const } };
  for (const path of ['/v1/audio/transcriptions', '/audio/transcriptions']) app.post(path, openai, (request, reply) => handleEndpoint(TRANSCRIPTIONS, deps, request, reply));
  for (const path of ['/v1/audio/speech', '/audio/speech']) app.post(path, openai, (request, reply) => handleEndpoint(SPEECH, deps, request, reply));
}
