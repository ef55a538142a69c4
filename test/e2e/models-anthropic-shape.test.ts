/**
 * `GET /v1/models` answers in Anthropic's Models API shape when the request carries
 * `anthropic-version` (Claude Code, the Anthropic SDKs), and in OpenAI's otherwise; both list the
 * same models, the ones the key may use.
 *
 * Anthropic's reference (platform.claude.com/docs/en/api/models-list): a page
 * `{data: ModelInfo[], has_more, first_id, last_id}`, ModelInfo `{id, created_at (RFC 3339),
 * display_name, type: "model"}`. LiteLLM's `/v1/models` always answers in OpenAI's shape.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, MASTER_KEY, postJson, startE2E, type E2E } from './harness.js';

let e2e: E2E;
/** A key that may use only two of the three models. */
let restricted: string;
/** A key limited to a model the gateway does not serve: it sees an empty list. */
let nothing: string;

const ALL = ['claude-test', 'gpt-test', 'mock-test'];
const SOME = ['gpt-test', 'mock-test'];
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

async function generate(models: string[]): Promise<string> {
  const res = await postJson(e2e.url, '/key/generate', { models });
  expect(res.status).toBe(200);
  return ((await res.json()) as { key: string }).key;
}

beforeAll(async () => {
  e2e = await startE2E();
  restricted = await generate(SOME);
  nothing = await generate(['no-such-model']);
});
afterAll(async () => {
  await e2e.close();
});

interface AnthropicPage {
  data: Record<string, unknown>[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}
interface OpenAIList {
  object: string;
  data: { id: string; object: string; created: number; owned_by: string }[];
}

async function list(path: string, key: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${e2e.url}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
  return { status: res.status, json: await res.json() };
}

describe('with anthropic-version: Anthropic shape', () => {
  it.each(['/v1/models', '/models'])('%s, master key: every model, as ModelInfo', async (path) => {
    const { status, json } = await list(path, MASTER_KEY, ANTHROPIC_HEADERS);
    expect(status).toBe(200);
    const page = json as AnthropicPage;
    expect(Object.keys(page).sort()).toEqual(['data', 'first_id', 'has_more', 'last_id']);
    const ids = page.data.map((m) => m.id as string);
    expect([...ids].sort()).toEqual(ALL);
    for (const model of page.data) {
      expect(Object.keys(model).sort()).toEqual(['created_at', 'display_name', 'id', 'type']);
      expect(model.type).toBe('model');
      expect(model.display_name).toBe(model.id);
      // RFC 3339, to the second.
      expect(model.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    expect(page.has_more).toBe(false);
    expect(page.first_id).toBe(ids[0]);
    expect(page.last_id).toBe(ids.at(-1));
  });

  it('same models, same order and the same creation time as the OpenAI shape', async () => {
    const anthropic = (await list('/v1/models', MASTER_KEY, ANTHROPIC_HEADERS)).json as AnthropicPage;
    const openai = (await list('/v1/models', MASTER_KEY)).json as OpenAIList;
    expect(anthropic.data.map((m) => m.id)).toEqual(openai.data.map((m) => m.id));
    for (const [i, model] of anthropic.data.entries()) {
      expect(Date.parse(model.created_at as string) / 1000).toBe(openai.data[i]?.created);
    }
  });

  it('a restricted key sees only its models', async () => {
    const page = (await list('/v1/models', restricted, ANTHROPIC_HEADERS)).json as AnthropicPage;
    expect(page.data.map((m) => m.id).sort()).toEqual(SOME);
    expect(page.first_id).toBe(page.data[0]?.id);
    expect(page.last_id).toBe(page.data[1]?.id);
  });

  it('an empty list has null cursors', async () => {
    const page = (await list('/v1/models', nothing, ANTHROPIC_HEADERS)).json as AnthropicPage;
    expect(page).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
  });

  it("the Anthropic SDK lists the models with Claude Code's x-api-key", async () => {
    const ids: string[] = [];
    for await (const model of anthropicClient(e2e.url, { xApiKey: restricted }).models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(SOME);
  });

  it('limit, after_id and before_id page the list as Anthropic does', async () => {
    const ids = (page: unknown): string[] => (page as AnthropicPage).data.map((m) => String(m.id));
    const first = (await list('/v1/models?limit=2', MASTER_KEY, ANTHROPIC_HEADERS)).json as AnthropicPage;
    expect([ids(first), first.has_more, first.first_id, first.last_id]).toEqual([ALL.slice(0, 2), true, ALL[0], ALL[1]]);
    const next = (await list(`/v1/models?limit=2&after_id=${first.last_id ?? ''}`, MASTER_KEY, ANTHROPIC_HEADERS)).json as AnthropicPage;
    expect([ids(next), next.has_more]).toEqual([ALL.slice(2), false]);
    const back = (await list(`/v1/models?limit=1&before_id=${ALL[2] ?? ''}`, MASTER_KEY, ANTHROPIC_HEADERS)).json as AnthropicPage;
    expect([ids(back), back.has_more]).toEqual([[ALL[1]], true]);
    // The SDK follows has_more through pages of one.
    const all: string[] = [];
    for await (const model of anthropicClient(e2e.url, { xApiKey: MASTER_KEY }).models.list({ limit: 1 })) all.push(model.id);
    expect(all).toEqual(ALL);
  });

  it('a bad limit is a 400 naming it, in the Anthropic envelope', async () => {
    for (const limit of ['0', '1001', 'ten']) {
      const { status, json } = await list(`/v1/models?limit=${limit}`, MASTER_KEY, ANTHROPIC_HEADERS);
      expect([limit, status]).toEqual([limit, 400]);
      expect(json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'limit: must be an integer from 1 to 1000' } });
    }
  });

  it('a bad key is refused in the Anthropic error envelope', async () => {
    const { status, json } = await list('/v1/models', 'sk-wrong', ANTHROPIC_HEADERS);
    expect(status).toBe(401);
    expect(json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    const err: unknown = await anthropicClient(e2e.url, { xApiKey: 'sk-wrong' }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe('without anthropic-version: OpenAI shape, unchanged', () => {
  it('master key', async () => {
    const { status, json } = await list('/v1/models', MASTER_KEY);
    expect(status).toBe(200);
    const body = json as OpenAIList;
    expect(Object.keys(body).sort()).toEqual(['data', 'object']);
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id).sort()).toEqual(ALL);
    for (const model of body.data) expect(Object.keys(model).sort()).toEqual(['created', 'id', 'object', 'owned_by']);
  });

  it('a restricted key sees only its models', async () => {
    const body = (await list('/v1/models', restricted)).json as OpenAIList;
    expect(body.data.map((m) => m.id).sort()).toEqual(SOME);
  });

  it('a bad key is refused in the OpenAI envelope', async () => {
    const { status, json } = await list('/v1/models', 'sk-wrong');
    expect(status).toBe(401);
    expect(json).toMatchObject({ error: { message: expect.any(String), type: 'auth_error' } });
    expect(json).not.toHaveProperty('type');
  });
});
