/**
 * Legacy OpenAI completions body (`POST /v1/completions`) → canonical request, for deployments
 * that only speak chat. As LiteLLM's `text_completion` does it (litellm/main.py): a string prompt is
 * one user message, a list of strings one user message each; token-id prompts can only go to a
 * deployment that speaks `/v1/completions` itself (they never reach this decoder on passthrough).
 */
import { invalidRequest } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { CanonicalRequest, Message } from '../../core/request.js';
import { describe, optionalBoolean, optionalNumber, optionalString, requireArray, requireString } from '../shared/validate.js';

const KNOWN = new Set(['model', 'prompt', 'stream', 'stream_options', 'max_tokens', 'temperature', 'top_p', 'stop', 'n', 'user', 'metadata']);

export function decodeCompletionsRequest(body: JsonObject): CanonicalRequest {
  const model = requireString(body.model, 'model');
  const messages = promptMessages(body.prompt);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) extra[key] = value;
  const stop = body.stop;
  return {
    model,
    system: [],
    messages,
    stream: optionalBoolean(body.stream, 'stream') ?? false,
    maxTokens: optionalNumber(body.max_tokens, 'max_tokens', { integer: true, min: 1 }),
    temperature: optionalNumber(body.temperature, 'temperature'),
    topP: optionalNumber(body.top_p, 'top_p'),
    stop: stop === undefined || stop === null ? undefined : typeof stop === 'string' ? [stop] : requireArray(stop, 'stop').map((s, i) => requireString(s, `stop[${i}]`)),
    n: optionalNumber(body.n, 'n', { integer: true, min: 1 }),
    user: optionalString(body.user, 'user'),
    extra,
  };
}

function promptMessages(prompt: unknown): Message[] {
  if (typeof prompt === 'string') return [userMessage(prompt)];
  if (prompt === undefined || prompt === null) throw invalidRequest('prompt: a prompt is required (a string or a list of strings)', 'prompt');
  const list = requireArray(prompt, 'prompt');
  if (list.length === 0) throw invalidRequest('prompt: the list of prompts is empty', 'prompt');
  if (list.every((p): p is string => typeof p === 'string')) return list.map(userMessage);
  if (list.every((p) => typeof p === 'number' || Array.isArray(p))) {
    throw invalidRequest('prompt: token-id prompts can only be sent to a text-completion deployment (text-completion-openai/…); this model takes text', 'prompt');
  }
  const bad = list.findIndex((p) => typeof p !== 'string');
  throw invalidRequest(`prompt[${bad}]: expected a string, got ${describe(list[bad])}`, `prompt[${bad}]`);
}

function userMessage(text: string): Message {
  return { role: 'user', content: [{ type: 'text', text }] };
}
