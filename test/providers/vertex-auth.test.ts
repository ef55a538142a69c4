/**
 * Vertex AI auth: service-account credentials through google-auth-library against the fake token
 * endpoint (the key's token_uri is honoured), token caching and refresh off the request path, and
 * the URL layout (regional, global, api_base).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import { loadVertexCredentials, REFRESH_AHEAD_MS, TokenSource, type AccessToken } from '../../src/providers/vertex/auth.js';
import { vertexBase, vertexLocation, vertexModelUrl } from '../../src/providers/vertex/endpoint.js';
import { CLOUD_PLATFORM_SCOPE, makeServiceAccount, startFakeVertex, type VertexFake } from '../fakes/vertex-upstream.js';

let fake: VertexFake;
beforeAll(async () => {
  fake = await startFakeVertex();
});
afterAll(() => fake.close());

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

function claims(assertion: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('service account → bearer token from the key’s token_uri', () => {
  it('signs a JWT-bearer grant the fake endpoint verifies (RS256, iss, aud = token_uri, cloud-platform scope)', async () => {
    const before = fake.requests.length;
    const credentials = await loadVertexCredentials(fake.credentials);
    const token = await credentials.tokens.get();
    expect(fake.issued).toContain(token);
    expect(credentials.projectId).toBe(fake.credentials.project_id);
    const tokenRequest = fake.requests.slice(before).find((r) => r.path === '/token')!;
    const form = new URLSearchParams(tokenRequest.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(claims(form.get('assertion')!)).toMatchObject({ iss: fake.credentials.client_email, aud: fake.tokenUri, scope: CLOUD_PLATFORM_SCOPE });
    // Cached: a second request does not go back to the token endpoint.
    const issued = fake.issued.length;
    expect(await credentials.tokens.get()).toBe(token);
    expect(fake.issued.length).toBe(issued);
  });

  it('accepts the key as JSON text and as a file path', async () => {
    const fromText = await loadVertexCredentials(JSON.stringify(fake.credentials));
    expect(fake.issued).toContain(await fromText.tokens.get());
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-vertex-'));
    const file = join(dir, 'sa.json');
    writeFileSync(file, JSON.stringify(fake.credentials));
    const fromFile = await loadVertexCredentials(file);
    expect(fake.issued).toContain(await fromFile.tokens.get());
  });

  it('a short-lived token is served at once and replaced in the background (the library refreshes when asked)', async () => {
    const shortLived = await startFakeVertex({ tokenTtlSeconds: REFRESH_AHEAD_MS / 1000 - 60 });
    try {
      const credentials = await loadVertexCredentials(shortLived.credentials);
      const first = await credentials.tokens.get();
      expect(await credentials.tokens.get()).toBe(first);
      await vi.waitFor(() => expect(shortLived.issued).toHaveLength(2));
      expect(await credentials.tokens.get()).toBe(shortLived.issued[1]);
    } finally {
      await shortLived.close();
    }
  });

  it('a key the token endpoint does not trust → authentication error with the endpoint’s reason', async () => {
    const stranger = makeServiceAccount(fake.tokenUri, fake.credentials.client_email);
    const credentials = await loadVertexCredentials(stranger.json);
    expect(await rejection(credentials.tokens.get())).toMatchObject({ code: 'authentication', status: 401, message: expect.stringContaining('Invalid JWT Signature') as unknown });
  });

  it('an unreadable key file or a non-JSON value is a configuration error', async () => {
    expect(await rejection(loadVertexCredentials('/nonexistent/sa.json'))).toMatchObject({ status: 500, message: expect.stringContaining('cannot read /nonexistent/sa.json') as unknown });
    expect(await rejection(loadVertexCredentials('{not json'))).toMatchObject({ status: 500 });
  });
});

describe('TokenSource: refresh ahead of expiry, off the request path', () => {
  function source(lifetimeMs: number): { tokens: TokenSource; clock: { now: number }; fetches: number[]; release: () => void; fail: { next: boolean } } {
    const clock = { now: 1_000_000 };
    const fetches: number[] = [];
    const fail = { next: false };
    let gate: (() => void) | undefined;
    const fetchToken = async (_force: boolean): Promise<AccessToken> => {
      fetches.push(clock.now);
      const n = fetches.length;
      if (n > 1) await new Promise<void>((resolve) => (gate = resolve));
      if (fail.next) {
        fail.next = false;
        throw new Error('token endpoint down');
      }
      return { token: `t${n}`, expiresAt: clock.now + lifetimeMs };
    };
    return { tokens: new TokenSource(fetchToken, () => clock.now), clock, fetches, release: () => gate?.(), fail };
  }

  it('concurrent first requests share one fetch', async () => {
    const { tokens, fetches } = source(3_600_000);
    expect(await Promise.all([tokens.get(), tokens.get(), tokens.get()])).toEqual(['t1', 't1', 't1']);
    expect(fetches).toHaveLength(1);
  });

  it('near expiry the current token is still served while the next one is fetched in the background', async () => {
    const s = source(3_600_000);
    expect(await s.tokens.get()).toBe('t1');
    s.clock.now += 3_600_000 - REFRESH_AHEAD_MS + 1_000;
    // Served at once although the refresh has not finished (its fetch is held open).
    expect(await s.tokens.get()).toBe('t1');
    expect(await s.tokens.get()).toBe('t1');
    expect(s.fetches).toHaveLength(2);
    s.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(await s.tokens.get()).toBe('t2');
  });

  it('a failed background refresh is retried by the next request; an expired token is never served', async () => {
    const s = source(3_600_000);
    await s.tokens.get();
    s.clock.now += 3_600_000 - REFRESH_AHEAD_MS + 1_000;
    s.fail.next = true;
    expect(await s.tokens.get()).toBe('t1');
    s.release();
    await new Promise((r) => setTimeout(r, 0));
    s.clock.now += REFRESH_AHEAD_MS;
    const pending = s.tokens.get();
    await new Promise((r) => setTimeout(r, 0));
    s.release();
    expect(await pending).toBe('t3');
  });

  it('invalidate drops a token the upstream refused', async () => {
    const s = source(3_600_000);
    await s.tokens.get();
    s.tokens.invalidate('t1');
    const pending = s.tokens.get();
    await new Promise((r) => setTimeout(r, 0));
    s.release();
    expect(await pending).toBe('t2');
  });
});

describe('URL layout', () => {
  const d = (params: Record<string, unknown>, apiBase?: string): Deployment => ({
    id: 'v', modelGroup: 'v', provider: 'vertex_ai', model: 'gemini-2.5-flash', apiBase, timeoutMs: 1000, streamTimeoutMs: 1000, params,
  });

  it('regional host per location, the global host for `global`, us-central1 by default', () => {
    expect(vertexBase(d({}), 'us-east5')).toBe('https://us-east5-aiplatform.googleapis.com');
    expect(vertexBase(d({}), 'global')).toBe('https://aiplatform.googleapis.com');
    expect(vertexLocation(d({}), {})).toBe('us-central1');
    expect(vertexLocation(d({ vertex_location: 'europe-west4' }), {})).toBe('europe-west4');
    expect(vertexLocation(d({}), { VERTEXAI_LOCATION: 'asia-east1' })).toBe('asia-east1');
  });

  it('api_base is scheme and host (a trailing slash or /v1 is tolerated); the path is built', () => {
    expect(vertexBase(d({}, 'https://private.example/v1/'), 'us-east5')).toBe('https://private.example');
    expect(vertexModelUrl({ base: 'https://aiplatform.googleapis.com', project: 'p', location: 'global' }, 'anthropic', 'claude-sonnet-4-5@20250929', 'streamRawPredict')).toBe(
      'https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict',
    );
    expect(vertexModelUrl({ base: 'https://us-east5-aiplatform.googleapis.com', project: 'p', location: 'us-east5' }, 'google', 'gemini-2.5-pro', 'generateContent')).toBe(
      'https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/google/models/gemini-2.5-pro:generateContent',
    );
  });
});
