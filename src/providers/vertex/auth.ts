/**
 * Vertex AI credentials → OAuth access tokens, with google-auth-library.
 *
 * - A service account (`vertex_credentials` as a key file path, JSON text or object, else the file
 *   GOOGLE_APPLICATION_CREDENTIALS names) is a JWT client. google-auth-library v10 hard-codes
 *   https://oauth2.googleapis.com/token as both the POST URL and the assertion's `aud` and ignores
 *   the key's `token_uri`; we honour it (private endpoints, our tests' local token server) by setting
 *   `aud` through `additionalClaims` and re-pointing the token request with a transporter interceptor.
 * - Any other credentials JSON (authorized_user, external_account, …) and Application Default
 *   Credentials (gcloud login, metadata server) go through GoogleAuth as they are.
 *
 * The library caches tokens; the TokenSource in front of it keeps refreshes off the request path:
 * a token close to expiry is still used while its successor is fetched in the background, and a
 * request waits only when there is no usable token at all (the first call, or after an outage).
 */
import { readFile } from 'node:fs/promises';
import { GoogleAuth, JWT, type AuthClient } from 'google-auth-library';
import { errors, type GatewayError } from '../../core/errors.js';
import { asObject, asString, type JsonObject } from '../../core/json.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Start fetching the next token this long before the current one expires. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** A token with less validity left than this is not sent (it could expire in flight). */
const MIN_VALIDITY_MS = 30_000;
/** When a client reports no expiry, assume Google's usual hour minus a margin. */
const DEFAULT_LIFETIME_MS = 45 * 60_000;

export interface AccessToken {
  token: string;
  expiresAt: number;
}

export class TokenSource {
  private current: AccessToken | undefined;
  private inFlight: Promise<AccessToken> | undefined;
  private force = false;

  /** `fetchToken(true)`: the last token was refused, so the library's own cache must be bypassed. */
  constructor(
    private readonly fetchToken: (force: boolean) => Promise<AccessToken>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    const current = this.current;
    const left = current === undefined ? 0 : current.expiresAt - this.now();
    if (current !== undefined && left > MIN_VALIDITY_MS) {
      // A failed background refresh is retried by the next request; the error surfaces only once
      // there is no valid token left to use.
      if (left < REFRESH_AHEAD_MS) void this.refresh().catch(() => undefined);
      return current.token;
    }
    return (await this.refresh()).token;
  }

  /** The upstream refused this token (revoked, clock skew): the next request fetches a new one. */
  invalidate(token: string): void {
    if (this.current?.token !== token) return;
    this.current = undefined;
    this.force = true;
  }

  private refresh(): Promise<AccessToken> {
    const force = this.force;
    this.force = false;
    this.inFlight ??= this.fetchToken(force)
      .then((token) => {
        this.current = token;
        return token;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}

export interface VertexCredentials {
  tokens: TokenSource;
  /** The project the credentials belong to, when they say. */
  projectId?: string | undefined;
}

/** Load credentials from `vertex_credentials` (or the environment) and build their token source. */
export async function loadVertexCredentials(source: unknown, env: NodeJS.ProcessEnv = process.env): Promise<VertexCredentials> {
  const json = await credentialsJson(source ?? env.GOOGLE_APPLICATION_CREDENTIALS);
  if (json === undefined) return applicationDefault(new GoogleAuth({ scopes: CLOUD_PLATFORM_SCOPE, clientOptions: { eagerRefreshThresholdMillis: REFRESH_AHEAD_MS } }));
  const email = asString(json.client_email);
  const key = asString(json.private_key);
  if (email !== undefined && key !== undefined) return serviceAccount(json, email, key);
  return applicationDefault(new GoogleAuth({ credentials: json, scopes: CLOUD_PLATFORM_SCOPE, clientOptions: { eagerRefreshThresholdMillis: REFRESH_AHEAD_MS } }));
}

async function credentialsJson(source: unknown): Promise<JsonObject | undefined> {
  if (source === undefined || source === null || source === '') return undefined;
  const object = asObject(source);
  if (object !== undefined) return object;
  if (typeof source !== 'string') throw credentialsError('vertex_credentials must be a file path, JSON text or an object');
  const text = source.trim().startsWith('{') ? source : await readFile(source, 'utf8').catch((err: unknown) => {
    throw credentialsError(`cannot read ${source}: ${err instanceof Error ? err.message : String(err)}`);
  });
  try {
    const parsed = asObject(JSON.parse(text) as unknown);
    if (parsed !== undefined) return parsed;
  } catch {
    // reported below
  }
  throw credentialsError('vertex_credentials is not a JSON object');
}

function serviceAccount(json: JsonObject, email: string, key: string): VertexCredentials {
  const tokenUri = asString(json.token_uri) ?? GOOGLE_TOKEN_URL;
  const client = new JWT({
    email,
    key,
    keyId: asString(json.private_key_id),
    scopes: [CLOUD_PLATFORM_SCOPE],
    eagerRefreshThresholdMillis: REFRESH_AHEAD_MS,
    additionalClaims: { aud: tokenUri },
  });
  if (tokenUri !== GOOGLE_TOKEN_URL) {
    client.transporter.interceptors.request.add({
      resolved: (options) => {
        if (options.url.href === GOOGLE_TOKEN_URL) options.url = new URL(tokenUri);
        return Promise.resolve(options);
      },
    });
  }
  return { tokens: new TokenSource((force) => fetchToken(client, force)), projectId: asString(json.project_id) };
}

async function applicationDefault(auth: GoogleAuth): Promise<VertexCredentials> {
  let client: AuthClient;
  try {
    client = await auth.getClient();
  } catch (err) {
    throw credentialsError(`no usable Application Default Credentials (${err instanceof Error ? err.message : String(err)})`);
  }
  const projectId = await auth.getProjectId().catch(() => undefined);
  return { tokens: new TokenSource((force) => fetchToken(client, force)), projectId: projectId ?? undefined };
}

async function fetchToken(client: AuthClient, force: boolean): Promise<AccessToken> {
  if (force) {
    // Drop the refused access token but keep what refreshes it (a JWT client's placeholder refresh
    // token); an expiry in the past also makes a service account's GoogleToken fetch anew.
    client.credentials = { refresh_token: client.credentials.refresh_token, expiry_date: 1 };
  }
  let token: string | null | undefined;
  try {
    ({ token } = await client.getAccessToken());
  } catch (err) {
    throw tokenError(err);
  }
  if (token === null || token === undefined || token === '') throw tokenError(new Error('the token endpoint returned no access token'));
  const expiry = client.credentials.expiry_date;
  return { token, expiresAt: typeof expiry === 'number' ? expiry : Date.now() + DEFAULT_LIFETIME_MS };
}

/** A failed token fetch: the token endpoint's 4xx means bad credentials, anything else is transient. */
function tokenError(err: unknown): GatewayError {
  const status = (err as { response?: { status?: unknown } } | undefined)?.response?.status;
  const message = `Vertex AI: could not get an access token (${err instanceof Error ? err.message : String(err)})`;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return errors.authentication(message, { upstream: { status, provider: 'vertex_ai' }, cause: err });
  }
  return errors.upstreamConnection(message, { upstream: { provider: 'vertex_ai' }, cause: err });
}

function credentialsError(reason: string): GatewayError {
  return errors.misconfigured(`Vertex AI credentials: ${reason}`);
}
