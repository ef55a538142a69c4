// Fake Vertex AI: a fake Google OAuth token endpoint plus the Vertex URL layout for both publishers.
//
//  - POST /token: the JWT-bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
//    `assertion=<RS256 JWT>`), verified with the public half of a service account key generated here
//    with node:crypto: signature, iss = client_email, aud = token_uri, the cloud-platform scope, exp.
//    Issues `ya29.fake-N` bearer tokens valid for `tokenTtlSeconds`. `credentials` is the service
//    account JSON (token_uri pointing here) to put in `vertex_credentials`.
//  - /v1/projects/{project}/locations/{location}/publishers/google/models/{m}:generateContent |
//    :streamGenerateContent?alt=sse | :countTokens → an inner fake Gemini (same wire, usage, cache).
//  - …/publishers/anthropic/models/{m}:rawPredict | :streamRawPredict, and
//    …/publishers/anthropic/models/count-tokens:rawPredict → an inner fake Anthropic. The body must
//    carry `anthropic_version: "vertex-2023-10-16"` and no `model` (count-tokens: with `model`), and
//    `stream` must match the method; `anthropic-beta` is forwarded. What Vertex refuses of Claude
//    Code's first-party requests is refused here too: betas outside FAKE_VERTEX_BETAS,
//    `cache_control.scope`, and features the model predates (adaptive thinking, effort,
//    `role: "system"` messages).
//  - Model Garden: …/endpoints/openapi/chat/completions and …/publishers/mistralai/models/{m}:rawPredict
//    | :streamRawPredict → vertex-maas.ts.
// Every Vertex route requires a live bearer from the token endpoint (401 UNAUTHENTICATED otherwise)
// and the configured project (403 PERMISSION_DENIED). `script` steps apply to the next generation
// request, whichever publisher it reaches.
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { request } from 'undici';
import { startFakeAnthropic, ANTHROPIC_FAKE_KEY, anthropicError, type AnthropicFakeOptions } from './anthropic-upstream.js';
import { cacheScopeError, claudeModelError, FAKE_VERTEX_BETAS } from './claude-platform-rules.js';
import type { Exchange, FakeStep, FakeUpstream, RecordedRequest } from './common.js';
import { header, isRecord, sendJson, serve, StepQueue } from './common.js';
import { googleError, startFakeGemini, GEMINI_FAKE_KEY, type GeminiFakeOptions } from './gemini-upstream.js';
import { maasRoute, serveMaas } from './vertex-maas.js';

export const VERTEX_PROJECT = 'tollgate-test';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export interface VertexFakeOptions {
  project?: string;
  tokenTtlSeconds?: number;
  gemini?: GeminiFakeOptions;
  anthropic?: AnthropicFakeOptions;
  /** Public key the token endpoint trusts (default: the one of `credentials`). */
  publicKey?: KeyObject;
}

export interface VertexFake extends FakeUpstream {
  tokenUri: string;
  /** Service-account key JSON whose token_uri is this fake's token endpoint. */
  credentials: Record<string, string>;
  /** Access tokens issued so far, in order. */
  issued: string[];
  /** Makes every issued token invalid (as if they expired). */
  revokeTokens: () => void;
  gemini: FakeUpstream;
  anthropic: FakeUpstream;
}

/** A service-account key JSON for a fresh RSA key pair, and the public key that verifies it. */
export function makeServiceAccount(tokenUri: string, email = 'tollgate@tollgate-test.iam.gserviceaccount.com'): { json: Record<string, string>; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const json = {
    type: 'service_account',
    project_id: VERTEX_PROJECT,
    private_key_id: 'fake-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: email,
    client_id: '100000000000000000001',
    token_uri: tokenUri,
  };
  return { json, publicKey };
}

function b64json(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a JWT-bearer assertion; returns the reason it is refused, or undefined. */
function checkAssertion(assertion: string, publicKey: KeyObject, email: string, tokenUri: string): string | undefined {
  const [head, payload, signature] = assertion.split('.');
  const headerJson = b64json(head);
  const claims = b64json(payload);
  if (headerJson === undefined || claims === undefined || signature === undefined) return 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.';
  if (headerJson.alg !== 'RS256') return 'Invalid JWT: unsupported algorithm';
  if (!verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))) return 'Invalid JWT Signature.';
  if (claims.iss !== email) return 'Invalid JWT: iss is not the service account';
  if (claims.aud !== tokenUri) return `Invalid JWT: aud must be ${tokenUri}`;
  if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(CLOUD_PLATFORM_SCOPE)) return 'Invalid JWT: missing scope';
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp < now || claims.exp - claims.iat > 3600) {
    return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
  }
  return undefined;
}

/**
 * Forwards an exchange to another fake and streams its answer back byte for byte; a cut or reset
 * upstream cuts this socket too, and a client that goes away aborts the inner request.
 */
export async function proxyExchange(ex: Exchange, url: string, headers: Record<string, string>, body: string, prelude?: string): Promise<void> {
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: ex.signal });
  } catch {
    return ex.selfDestroy('destroy');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (typeof value === 'string' && !['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date'].includes(name)) out[name] = value;
  }
  if (ex.signal.aborted) return;
  ex.res.writeHead(response.statusCode, out);
  ex.res.flushHeaders();
  if (prelude !== undefined && (out['content-type'] ?? '').includes('text/event-stream')) ex.res.write(prelude);
  try {
    for await (const chunk of response.body) ex.res.write(chunk);
  } catch {
    return ex.selfDestroy('destroy');
  }
  ex.res.end();
}

export async function startFakeVertex(opts: VertexFakeOptions = {}): Promise<VertexFake> {
  const project = opts.project ?? VERTEX_PROJECT;
  const ttl = opts.tokenTtlSeconds ?? 3600;
  const gemini = await startFakeGemini(opts.gemini);
  const anthropic = await startFakeAnthropic(opts.anthropic);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const tokens = new Map<string, number>();
  const issued: string[] = [];
  const state: { tokenUri: string; email: string; publicKey: KeyObject | undefined } = { tokenUri: '', email: '', publicKey: opts.publicKey };

  const handler = (ex: Exchange): Promise<void> => {
    const jsonHeaders = { 'content-type': 'application/json; charset=UTF-8' };
    const [pathname = '', query] = ex.record.path.split('?');
    if (ex.req.method === 'POST' && pathname === '/token') {
      const form = new URLSearchParams(ex.record.body);
      const refuse = (reason: string): void => sendJson(ex, 400, JSON.stringify({ error: 'invalid_grant', error_description: reason }), jsonHeaders);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        sendJson(ex, 400, JSON.stringify({ error: 'unsupported_grant_type', error_description: 'Invalid grant_type' }), jsonHeaders);
        return Promise.resolve();
      }
      const reason = checkAssertion(form.get('assertion') ?? '', state.publicKey as KeyObject, state.email, state.tokenUri);
      if (reason !== undefined) {
        refuse(reason);
        return Promise.resolve();
      }
      const token = `ya29.fake-${issued.length + 1}`;
      issued.push(token);
      tokens.set(token, Date.now() + ttl * 1000);
      sendJson(ex, 200, JSON.stringify({ access_token: token, expires_in: ttl, token_type: 'Bearer' }), jsonHeaders);
      return Promise.resolve();
    }

    const fail = (body: ReturnType<typeof googleError>): Promise<void> => {
      sendJson(ex, Number(body.error.code), JSON.stringify(body), jsonHeaders);
      return Promise.resolve();
    };
    const route = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):([A-Za-z]+)$/.exec(pathname);
    const maas = maasRoute(pathname);
    if (ex.req.method !== 'POST' || (route === null && maas === undefined)) return fail(googleError(404, 'NOT_FOUND', `The requested URL ${pathname} was not found on this server.`));
    const auth = header(ex, 'authorization');
    if (auth === undefined) {
      return fail(googleError(401, 'UNAUTHENTICATED', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.'));
    }
    const expiry = tokens.get(auth.replace(/^Bearer /, ''));
    if (!auth.startsWith('Bearer ') || expiry === undefined || expiry < Date.now()) {
      return fail(googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.'));
    }
    if (maas !== undefined) {
      if (maas.project !== project) return fail(googleError(403, 'PERMISSION_DENIED', `Permission denied on resource project ${maas.project}.`));
      return serveMaas(ex, maas, steps.next());
    }
    if (route === null) return fail(googleError(404, 'NOT_FOUND', `The requested URL ${pathname} was not found on this server.`));
    const [, reqProject, location = '', publisher, model = '', method = ''] = route;
    if (reqProject !== project) return fail(googleError(403, 'PERMISSION_DENIED', `Permission denied on resource project ${reqProject}.`));
    const body = ex.record.json;
    if (!isRecord(body)) return fail(googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    const next = (inner: FakeUpstream): void => {
      const step: FakeStep = steps.next();
      if (step !== 'ok') inner.script([step]);
    };

    if (publisher === 'google') {
      if (!['generateContent', 'streamGenerateContent', 'countTokens'].includes(method)) return fail(googleError(400, 'INVALID_ARGUMENT', `Unknown method ${method}`));
      if (method !== 'countTokens') next(gemini);
      const path = `/v1beta/models/${model}:${method}${query === undefined ? '' : `?${query}`}`;
      return proxyExchange(ex, `${gemini.url}${path}`, { 'x-goog-api-key': GEMINI_FAKE_KEY, 'x-fake-location': location }, ex.record.body);
    }

    const anthropicFail = (message: string): Promise<void> => {
      sendJson(ex, 400, JSON.stringify(anthropicError('invalid_request_error', message)), jsonHeaders);
      return Promise.resolve();
    };
    // @anthropic-ai/vertex-sdk 1.x copies the first-party `anthropic-version` header (e.g. 2026-10-21)
    // into the body; older clients, Claude Code among them, send vertex-2023-10-16.
    const version = typeof body.anthropic_version === 'string' ? body.anthropic_version : '';
    if (version !== VERTEX_ANTHROPIC_VERSION && !/^\d{4}-\d{2}-\d{2}$/.test(version)) return anthropicFail(`anthropic_version: must be "${VERTEX_ANTHROPIC_VERSION}"`);
    const { anthropic_version: _version, ...rest } = body;
    const headers: Record<string, string> = { 'x-api-key': ANTHROPIC_FAKE_KEY, 'anthropic-version': '2023-06-01' };
    const beta = header(ex, 'anthropic-beta');
    const betas = (beta ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
    const refused = betas.filter((b) => !FAKE_VERTEX_BETAS.has(b) || (model === 'count-tokens' && b === 'web-search-2025-03-05'));
    if (refused.length > 0) {
      return anthropicFail(`Unexpected value(s) ${refused.map((b) => `\`${b}\``).join(', ')} for the \`anthropic-beta\` header. Please consult our documentation at docs.anthropic.com or try again without the header.`);
    }
    const refusal = cacheScopeError(rest) ?? claudeModelError(rest, model === 'count-tokens' ? String(rest.model) : model);
    if (refusal !== undefined) return anthropicFail(refusal);
    if (beta !== undefined) headers['anthropic-beta'] = beta;
    if (model === 'count-tokens') {
      if (method !== 'rawPredict' || typeof rest.model !== 'string') return anthropicFail('count-tokens: model is required');
      return proxyExchange(ex, `${anthropic.url}/v1/messages/count_tokens`, headers, JSON.stringify(rest));
    }
    if (method !== 'rawPredict' && method !== 'streamRawPredict') return fail(googleError(400, 'INVALID_ARGUMENT', `Unknown method ${method}`));
    if (rest.model !== undefined) return anthropicFail('model: Extra inputs are not permitted');
    if ((rest.stream === true) !== (method === 'streamRawPredict')) return anthropicFail(`stream: must be ${method === 'streamRawPredict'} for ${method}`);
    next(anthropic);
    return proxyExchange(ex, `${anthropic.url}/v1/messages`, headers, JSON.stringify({ ...rest, model }));
  };

  const server = await serve(requests, handler);
  const tokenUri = `${server.url}/token`;
  const account = makeServiceAccount(tokenUri);
  state.tokenUri = tokenUri;
  state.email = account.json.client_email ?? '';
  state.publicKey ??= account.publicKey;
  return {
    url: server.url,
    tokenUri,
    credentials: account.json,
    issued,
    revokeTokens: () => tokens.clear(),
    requests,
    script: (s) => steps.push(s),
    resetCache: () => {
      gemini.resetCache();
      anthropic.resetCache();
    },
    close: async () => {
      await server.close();
      await Promise.all([gemini.close(), anthropic.close()]);
    },
    gemini,
    anthropic,
  };
}
