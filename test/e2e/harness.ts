/**
 * Shared setup for the end-to-end tests: fake upstreams + a real gateway on 127.0.0.1, SDK client
 * factories, raw SSE parsing and call-record lookup by `x-litellm-call-id`.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { expect } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import type { Gateway } from '../../src/server.js';
import {
  startFakeAnthropic, startFakeOpenAI, type AnthropicFakeOptions, type FakeUpstream, type OpenAIFakeOptions,
} from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

export const MASTER_KEY = 'sk-master-test';

export interface E2E {
  gw: TestGateway;
  url: string;
  anthropic: FakeUpstream;
  openai: FakeUpstream;
  close: () => Promise<void>;
}

export interface E2EOptions {
  anthropic?: AnthropicFakeOptions;
  openai?: OpenAIFakeOptions;
  /** Extra `model_list` entries (YAML list items, indented by two spaces). */
  extraModels?: (fakes: { anthropic: string; openai: string }) => string;
  /** Extra `general_settings` entries, e.g. `max_request_size_mb: 1`. */
  general?: string;
}

export async function startE2E(options: E2EOptions = {}): Promise<E2E> {
  const anthropic = await startFakeAnthropic(options.anthropic);
  const openai = await startFakeOpenAI(options.openai);
  const extra = options.extraModels?.({ anthropic: anthropic.url, openai: openai.url }) ?? '';
  const yaml = `
model_list:
  - model_name: claude-test
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: sk-ant-fake }
  - model_name: gpt-test
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: sk-openai-fake }
  - model_name: mock-test
    litellm_params: { model: mock/mock-test }
${extra}
general_settings: { master_key: ${MASTER_KEY}${options.general === undefined ? '' : `, ${options.general}`} }
`;
  const gw = await startGateway(yaml);
  return {
    gw,
    url: gw.url,
    anthropic,
    openai,
    close: async () => {
      await gw.close();
      await Promise.all([anthropic.close(), openai.close()]);
    },
  };
}

/**
 * Anthropic SDK client against the gateway. In SDK 1.x both `apiKey` and `authToken` travel as
 * `Authorization: Bearer`; the `xApiKey` style (Claude Code's) sends only `x-api-key`.
 */
export function anthropicClient(
  url: string,
  auth: { apiKey: string } | { authToken: string } | { xApiKey: string } = { apiKey: MASTER_KEY },
  fetchImpl?: typeof fetch,
): Anthropic {
  const common = { baseURL: url, maxRetries: 0, timeout: 10_000, ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }) };
  if ('xApiKey' in auth) return new Anthropic({ ...common, apiKey: 'unused', defaultHeaders: { 'x-api-key': auth.xApiKey, authorization: null } });
  if ('authToken' in auth) return new Anthropic({ ...common, authToken: auth.authToken });
  return new Anthropic({ ...common, apiKey: auth.apiKey });
}

export function openaiClient(url: string, apiKey = MASTER_KEY): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

export const newCallId = (): string => `e2e-${randomUUID()}`;

export function postJson(url: string, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Splits an SSE body into events (comments and blank frames dropped). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const frame of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== undefined || data.length > 0) out.push({ event, data: data.join('\n') });
  }
  return out;
}

/** JSON payloads of the SSE events (skipping `[DONE]`). */
export function sseJson(text: string): Record<string, unknown>[] {
  return parseSse(text)
    .filter((e) => e.data !== '' && e.data !== '[DONE]')
    .map((e) => JSON.parse(e.data) as Record<string, unknown>);
}

/**
 * The one record for a request id: waits for it, then lets late writers show up, and asserts that
 * there is exactly one.
 */
export async function recordFor(gateway: Gateway, requestId: string | null | undefined, timeoutMs = 5000): Promise<CallRecord> {
  expect(requestId, 'x-litellm-call-id').toBeTruthy();
  const id = requestId ?? '';
  const deadline = Date.now() + timeoutMs;
  while (gateway.calls.find(id).length === 0) {
    if (Date.now() > deadline) throw new Error(`no call record for ${id}`);
    await sleep(5);
  }
  await sleep(30);
  const records = gateway.calls.find(id);
  expect(records, `call records for ${id}`).toHaveLength(1);
  return records[0]!;
}

/** Asserts that no call record carries this id (requests that were never admitted). */
export async function expectNoRecord(gateway: Gateway, requestId: string): Promise<void> {
  await sleep(30);
  expect(gateway.calls.find(requestId)).toHaveLength(0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true (used for facts the fakes learn asynchronously, e.g. `aborted`). */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** `n` distinct lowercase words, deterministic per seed (the fakes count one token per word). */
export function words(n: number, seed: string): string {
  return Array.from({ length: n }, (_, i) => `${seed}${i.toString(36)}`).join(' ');
}
