/**
 * How one Bedrock deployment reaches AWS: the runtime endpoint, the region, and the authorization
 * of each request — a Bedrock API key as a bearer token, or SigV4 over the exact bytes sent.
 *
 * Auth precedence: the deployment's `api_key`; else credentials the deployment names itself
 * (keys, profile, role); else an ambient `AWS_BEARER_TOKEN_BEDROCK`; else the standard AWS chain.
 * Explicit configuration beats the environment, so one process can mix deployments.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Deployment } from '../../core/deployment.js';
import { errors } from '../../core/errors.js';
import { joinUrl, postUpstream, type UpstreamResponse } from '../shared/upstream-http.js';
import type { UpstreamCall } from '../types.js';
import { credentialSourceFor, hasExplicitAwsCredentials } from './credentials.js';
import { parseBedrockError, remapBedrockError } from './errors.js';

export const BEDROCK_PROVIDER = 'bedrock';
const SIGNING_SERVICE = 'bedrock';

export type BedrockAction = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream' | 'count-tokens';

export interface BedrockResponse extends UpstreamResponse {
  url: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', accept: 'application/json' };
const STREAM_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' };

/** SHA-256 (and HMAC-SHA-256 with a secret) in the constructor shape the signer expects. */
class Sha256 extends Hash {
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    super('sha256', secret);
  }
}

function param(deployment: Deployment, name: string): string | undefined {
  const value = deployment.params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `aws_region_name`, else the region of an ARN model id, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function bedrockRegion(deployment: Deployment, env: Env): string {
  const arnRegion = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):/.exec(deployment.model.replace(/^(converse|invoke)\//, ''))?.[1];
  return param(deployment, 'aws_region_name') ?? arnRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

export function bedrockEndpoint(deployment: Deployment, region: string, env: Env): string {
  return (
    deployment.apiBase ??
    param(deployment, 'aws_bedrock_runtime_endpoint') ??
    env.AWS_BEDROCK_RUNTIME_ENDPOINT ??
    `https://bedrock-runtime.${region}.amazonaws.com`
  );
}

/** `/model/{id}/{action}`: the id is one path label, so `:` and the `/` of ARNs are escaped. */
export function modelPath(modelId: string, action: BedrockAction): string {
  return `/model/${encodeURIComponent(modelId)}/${action}`;
}

export class BedrockTransport {
  readonly region: string;
  readonly endpoint: string;
  private readonly bearer: string | undefined;
  private readonly signer: SignatureV4 | undefined;

  constructor(deployment: Deployment, env: Env = process.env) {
    this.region = bedrockRegion(deployment, env);
    this.endpoint = bedrockEndpoint(deployment, this.region, env);
    const explicit = hasExplicitAwsCredentials(deployment.params);
    this.bearer = deployment.apiKey ?? (explicit ? undefined : env.AWS_BEARER_TOKEN_BEDROCK || undefined);
    const authorization = `Bearer ${this.bearer ?? ''}`;
    this.bearerHeaders = { stream: { ...STREAM_HEADERS, authorization }, json: { ...JSON_HEADERS, authorization } };
    if (this.bearer === undefined) {
      // Built once per deployment: the credential memo and the signer's key cache live as long as it.
      this.signer = new SignatureV4({
        service: SIGNING_SERVICE,
        region: this.region,
        credentials: credentialSourceFor(deployment.params, this.region),
        sha256: Sha256,
      });
    }
  }

  private readonly bearerHeaders: { stream: Record<string, string>; json: Record<string, string> };

  get authKind(): 'bearer' | 'sigv4' {
    return this.bearer === undefined ? 'sigv4' : 'bearer';
  }

  async post(path: string, body: string | Buffer, call: UpstreamCall, stream: boolean): Promise<BedrockResponse> {
    const url = joinUrl(this.endpoint, path);
    const headers = stream ? STREAM_HEADERS : JSON_HEADERS;
    // A bearer's headers never change: built once per transport (deployment). SigV4 signs each request.
    const authorized = this.bearer !== undefined ? (stream ? this.bearerHeaders.stream : this.bearerHeaders.json) : await this.authorize(url, headers, body);
    try {
      const response = await postUpstream(url, authorized, body, call, { provider: BEDROCK_PROVIDER, stream, parseError: parseBedrockError });
      return { ...response, url };
    } catch (err) {
      throw remapBedrockError(err);
    }
  }

  private async authorize(url: string, headers: Record<string, string>, body: string | Buffer): Promise<Record<string, string>> {
    const signer = this.signer as SignatureV4;
    const target = new URL(url);
    let signed;
    try {
      signed = await signer.sign({
        method: 'POST',
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port === '' ? undefined : Number(target.port),
        // Signed as sent: the escaped model id is escaped once more in the canonical URI, as AWS expects.
        path: target.pathname,
        query: Object.fromEntries(target.searchParams),
        headers: { ...headers, host: target.host },
        body,
      });
    } catch (err) {
      throw errors.authentication(`Could not sign the Bedrock request: no usable AWS credentials (${err instanceof Error ? err.message : String(err)})`, {
        upstream: { provider: BEDROCK_PROVIDER },
        cause: err,
      });
    }
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      // undici derives Host from the URL, byte-identical to what was signed.
      if (name.toLowerCase() !== 'host') out[name] = value;
    }
    return out;
  }
}
