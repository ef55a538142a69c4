/**
 * One cheap authenticated request per provider deployment: a model list where the provider has one
 * (free, and it checks the key), else a 1-token call (or Anthropic's free count_tokens) when the
 * list is not offered — self-hosted OpenAI-compatible servers and proxies often answer 404 there.
 * Clouds whose control plane we cannot reach from the config get a credentials check and say so.
 */
import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { GoogleAuth } from 'google-auth-library';
import type { Deployment } from '../core/deployment.js';
import { isMissing } from './doctor-config.js';
import { errorText, type CheckLine, type Probe } from './doctor-types.js';

type Outcome = Pick<CheckLine, 'verdict' | 'detail'>;

/** SHA-256 (and HMAC-SHA-256 with a secret) in the constructor shape the signer expects. */
class Sha256 extends Hash {
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    super('sha256', secret);
  }
}

/** Azure's data-plane API version when the deployment names none (providers/azure AZURE_DEFAULT_API_VERSION). */
const AZURE_API_VERSION = '2025-04-01-preview';
const ANTHROPIC_VERSION = '2023-06-01';
const PING = [{ role: 'user', content: 'ping' }];

export function providerProbe(d: Deployment, target: string, env: NodeJS.ProcessEnv): Probe {
  const run = (fn: (signal: AbortSignal) => Promise<Outcome>): Probe => ({ check: 'probe', target, run: fn });
  const missing = Object.entries(d.params).find(([, v]) => isMissing(v));
  if (missing !== undefined) return run(() => Promise.resolve({ verdict: 'WARN', detail: `not probed: ${missing[0]} comes from an unset variable` }));
  const secrets = [d.apiKey, str(d.params.azure_ad_token), str(d.params.aws_secret_access_key), str(d.params.aws_session_token)].filter((s): s is string => s !== undefined);
  const http = new ProbeHttp(secrets);
  switch (d.provider) {
    case 'mock':
      return run(() => Promise.resolve({ verdict: 'OK', detail: 'built-in mock: nothing to probe' }));
    case 'anthropic':
      return run((signal) => probeAnthropic(http, d, signal));
    case 'azure':
      return run((signal) => probeAzure(http, d, env, signal));
    case 'gemini':
      return run((signal) => probeGemini(http, d, env, signal));
    case 'cohere':
    case 'cohere_chat':
      return run((signal) => probeCohere(http, d, env, signal));
    case 'bedrock':
    case 'bedrock_converse':
      return run((signal) => probeBedrock(http, d, env, signal));
    case 'vertex_ai':
    case 'vertex_ai_beta':
      return run((signal) => probeVertex(d, env, signal));
    default:
      return run((signal) => probeOpenAICompatible(http, d, signal));
  }
}

interface Answer {
  status: number;
  text: string;
}

/** fetch, with every secret the deployment holds cut out of anything that reaches the report. */
class ProbeHttp {
  constructor(private readonly secrets: string[]) {}

  async send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, signal: AbortSignal, body?: unknown): Promise<Answer> {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    return { status: res.status, text: await res.text() };
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length >= 4) out = out.replaceAll(s, '***');
    return out;
  }

  /** The verdict of an answer: 2xx OK, a refused credential FAIL, 429 WARN (the key was accepted). */
  judge(answer: Answer, what: string): Outcome {
    if (answer.status >= 200 && answer.status < 300) return { verdict: 'OK', detail: what };
    const message = this.redact(upstreamMessage(answer.text));
    if (answer.status === 401 || answer.status === 403) return { verdict: 'FAIL', detail: `credentials refused (HTTP ${answer.status}${message === '' ? '' : `: ${message}`})` };
    if (answer.status === 429) return { verdict: 'WARN', detail: `rate limited (HTTP 429), credentials accepted${message === '' ? '' : `: ${message}`}` };
    return { verdict: 'FAIL', detail: `HTTP ${answer.status}${message === '' ? '' : `: ${message}`}` };
  }
}

/** The error message of a provider's JSON error body, else the start of the body; one short line. */
function upstreamMessage(text: string): string {
  let message = text;
  try {
    const body = JSON.parse(text) as unknown;
    const error = isRecord(body) ? (isRecord(body.error) ? body.error : body) : undefined;
    if (error !== undefined && typeof error.message === 'string') message = error.message;
    else if (error !== undefined && typeof error.Message === 'string') message = error.Message;
  } catch {
    // Not JSON: the text itself.
  }
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const listMissing = (status: number): boolean => status === 404 || status === 405;

async function probeOpenAICompatible(http: ProbeHttp, d: Deployment, signal: AbortSignal): Promise<Outcome> {
  const base = (d.apiBase ?? d.defaultApiBase)?.replace(/\/+$/, '');
  if (base === undefined) return { verdict: 'FAIL', detail: `no api_base for ${d.provider}` };
  const headers: Record<string, string> = d.apiKey === undefined || d.apiKey === '' ? {} : { authorization: `Bearer ${d.apiKey}` };
  const list = await http.send('GET', `${base}/models`, headers, signal);
  if (!listMissing(list.status)) return http.judge(list, `GET ${base}/models answered`);
  if (d.model.includes('*')) return { verdict: 'WARN', detail: `GET ${base}/models: HTTP ${list.status}; a wildcard deployment has no model for a 1-token call` };
  const completion = d.provider === 'text-completion-openai';
  const call = completion
    ? await http.send('POST', `${base}/completions`, headers, signal, { model: d.model, prompt: 'ping', max_tokens: 1 })
    : await http.send('POST', `${base}/chat/completions`, headers, signal, { model: d.model, messages: PING, max_tokens: 1 });
  return http.judge(call, `answered a 1-token call (no /models at ${base})`);
}

async function probeAnthropic(http: ProbeHttp, d: Deployment, signal: AbortSignal): Promise<Outcome> {
  const base = (d.apiBase ?? 'https://api.anthropic.com').replace(/\/+$/, '').replace(/\/v1$/, '');
  if (d.apiKey === undefined || d.apiKey === '') return { verdict: 'FAIL', detail: 'not probed: no api_key' };
  const headers = { 'x-api-key': d.apiKey, 'anthropic-version': ANTHROPIC_VERSION };
  const list = await http.send('GET', `${base}/v1/models?limit=1`, headers, signal);
  if (!listMissing(list.status) || d.model.includes('*')) return http.judge(list, `GET ${base}/v1/models answered`);
  // count_tokens is free and authenticated: the fallback where a proxy offers no model list.
  const count = await http.send('POST', `${base}/v1/messages/count_tokens`, headers, signal, { model: d.model, messages: PING });
  return http.judge(count, `POST ${base}/v1/messages/count_tokens answered (no model list)`);
}

async function probeAzure(http: ProbeHttp, d: Deployment, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Outcome> {
  const base = d.apiBase ?? env.AZURE_API_BASE;
  if (base === undefined || base === '') return { verdict: 'FAIL', detail: 'no api_base (or AZURE_API_BASE)' };
  const root = base.replace(/\/+$/, '').replace(/\/openai(\/v1)?$/, '');
  const key = d.apiKey ?? env.AZURE_API_KEY;
  const token = str(d.params.azure_ad_token) ?? env.AZURE_AD_TOKEN;
  const headers: Record<string, string> | undefined =
    key !== undefined && key !== '' ? { 'api-key': key } : token !== undefined && token !== '' ? { authorization: `Bearer ${token.replace(/^Bearer\s+/i, '')}` } : undefined;
  if (headers === undefined) return { verdict: 'FAIL', detail: 'not probed: no api_key or azure_ad_token' };
  const version = encodeURIComponent(d.apiVersion ?? env.AZURE_API_VERSION ?? AZURE_API_VERSION);
  const list = await http.send('GET', `${root}/openai/models?api-version=${version}`, headers, signal);
  if (!listMissing(list.status) || d.model.includes('*')) return http.judge(list, `GET ${root}/openai/models answered`);
  const call = await http.send('POST', `${root}/openai/deployments/${encodeURIComponent(d.model)}/chat/completions?api-version=${version}`, headers, signal, { messages: PING, max_tokens: 1 });
  return http.judge(call, `deployment ${d.model} answered a 1-token call`);
}

async function probeGemini(http: ProbeHttp, d: Deployment, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Outcome> {
  const key = d.apiKey ?? env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY;
  if (key === undefined || key === '') return { verdict: 'FAIL', detail: 'not probed: no api_key (or GEMINI_API_KEY)' };
  const base = (d.apiBase ?? 'https://generativelanguage.googleapis.com').replace(/\/+$/, '').replace(/\/v1(beta)?$/, '');
  return http.judge(await http.send('GET', `${base}/v1beta/models?pageSize=1`, { 'x-goog-api-key': key }, signal), `GET ${base}/v1beta/models answered`);
}

async function probeCohere(http: ProbeHttp, d: Deployment, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Outcome> {
  const key = d.apiKey ?? env.COHERE_API_KEY ?? env.CO_API_KEY;
  if (key === undefined || key === '') return { verdict: 'FAIL', detail: 'not probed: no api_key (or COHERE_API_KEY)' };
  const base = (d.apiBase ?? env.COHERE_API_BASE ?? 'https://api.cohere.com').replace(/\/+$/, '').replace(/\/v\d\/chat$/, '');
  return http.judge(await http.send('GET', `${base}/v1/models?page_size=1`, { authorization: `Bearer ${key}` }, signal), `GET ${base}/v1/models answered`);
}

/**
 * SigV4-signed ListFoundationModels on Bedrock's control plane (`bedrock.{region}`), which checks
 * the credentials without running a model. A custom runtime endpoint (a VPC endpoint, a proxy) has
 * no control plane we can derive: then the credentials are resolved and the line says "not probed".
 */
async function probeBedrock(http: ProbeHttp, d: Deployment, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Outcome> {
  const region = str(d.params.aws_region_name) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (d.apiKey !== undefined || (env.AWS_BEARER_TOKEN_BEDROCK !== undefined && str(d.params.aws_access_key_id) === undefined)) {
    return { verdict: 'WARN', detail: 'not probed: a Bedrock API key is checked only by a model call' };
  }
  if (str(d.params.aws_role_name) !== undefined || str(d.params.aws_web_identity_token) !== undefined) {
    return { verdict: 'WARN', detail: 'not probed: assumed-role credentials are resolved at the first call' };
  }
  const id = str(d.params.aws_access_key_id);
  const secret = str(d.params.aws_secret_access_key);
  const profile = str(d.params.aws_profile_name);
  const source =
    id !== undefined && secret !== undefined
      ? () => Promise.resolve({ accessKeyId: id, secretAccessKey: secret, sessionToken: str(d.params.aws_session_token) })
      : profile !== undefined
        ? fromIni({ profile })
        : fromNodeProviderChain();
  let credentials;
  try {
    credentials = await source();
  } catch (err) {
    return { verdict: 'FAIL', detail: `no AWS credentials: ${errorText(err)}` };
  }
  const runtime = d.apiBase ?? str(d.params.aws_bedrock_runtime_endpoint) ?? env.AWS_BEDROCK_RUNTIME_ENDPOINT;
  if (runtime !== undefined) return { verdict: 'WARN', detail: `not probed: AWS credentials resolved; ${runtime} is a custom runtime endpoint with no known control plane` };
  const host = `bedrock.${region}.amazonaws.com`;
  const signer = new SignatureV4({ service: 'bedrock', region, credentials, sha256: Sha256 });
  const signed = await signer.sign({ method: 'GET', protocol: 'https:', hostname: host, path: '/foundation-models', query: { byOutputModality: 'TEXT' }, headers: { host } });
  const answer = await http.send('GET', `https://${host}/foundation-models?byOutputModality=TEXT`, signed.headers, signal);
  const outcome = http.judge(answer, `ListFoundationModels in ${region} answered`);
  // Valid credentials without bedrock:ListFoundationModels are refused the same way: say which.
  if (answer.status === 403 && /not authorized to perform/i.test(answer.text)) return { verdict: 'WARN', detail: `credentials valid, but may not list models: ${outcome.detail}` };
  return outcome;
}

/** The OAuth token exchange Vertex calls start with; the model itself is not called. */
async function probeVertex(d: Deployment, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Outcome> {
  const raw = d.params.vertex_credentials;
  const scopes = ['https://www.googleapis.com/auth/cloud-platform'];
  let auth: GoogleAuth;
  if (isRecord(raw)) auth = new GoogleAuth({ scopes, credentials: raw });
  else if (typeof raw === 'string' && raw.trim().startsWith('{')) auth = new GoogleAuth({ scopes, credentials: JSON.parse(raw) as Record<string, string> });
  else if (typeof raw === 'string') auth = new GoogleAuth({ scopes, keyFile: raw });
  else auth = new GoogleAuth({ scopes, keyFile: env.GOOGLE_APPLICATION_CREDENTIALS });
  if (signal.aborted) return { verdict: 'FAIL', detail: 'timed out' };
  const token = await auth.getAccessToken();
  const project = str(d.params.vertex_project) ?? env.VERTEXAI_PROJECT ?? env.VERTEX_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
  if (token === null || token === undefined || token === '') return { verdict: 'FAIL', detail: 'the token exchange returned no token' };
  return project === undefined
    ? { verdict: 'WARN', detail: 'token obtained, but no vertex_project (or VERTEXAI_PROJECT) is set' }
    : { verdict: 'OK', detail: `token obtained for project ${project} (the model is not called)` };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
