/**
 * Where a Vertex AI deployment lives (project, location, host) and the bearer token to present
 * there. LiteLLM's params: `vertex_project`, `vertex_location` (default us-central1, `global` for the
 * global endpoint), `vertex_credentials`, `api_base` (scheme and host; the path is built here).
 */
import type { Deployment } from '../../core/deployment.js';
import { errors, GatewayError } from '../../core/errors.js';
import { joinUrl } from '../shared/upstream-http.js';
import { loadVertexCredentials, type VertexCredentials } from './auth.js';

const DEFAULT_LOCATION = 'us-central1';

export type Publisher = 'google' | 'anthropic';

export interface VertexTarget {
  project: string;
  location: string;
  /** Scheme and host, e.g. https://us-east5-aiplatform.googleapis.com. */
  base: string;
  token: string;
  /** Call when Vertex answered 401 with this token, so the next request does not reuse it. */
  rejected: () => void;
}

/**
 * Credentials are loaded (the key file read, the client built) once per distinct `vertex_credentials`
 * value and shared by every deployment using it, so one service account holds one token. A failed
 * load is forgotten, so a fixed file is picked up by the next request.
 */
const credentialCache = new Map<string, Promise<VertexCredentials>>();

function credentialsFor(deployment: Deployment): Promise<VertexCredentials> {
  const source = deployment.params.vertex_credentials;
  const key = source === undefined ? 'adc' : typeof source === 'string' ? `s:${source}` : `j:${JSON.stringify(source)}`;
  let entry = credentialCache.get(key);
  if (entry === undefined) {
    entry = loadVertexCredentials(source);
    credentialCache.set(key, entry);
    const loading = entry;
    void loading.catch(() => {
      if (credentialCache.get(key) === loading) credentialCache.delete(key);
    });
  }
  return entry;
}

export function vertexLocation(deployment: Deployment, env: NodeJS.ProcessEnv = process.env): string {
  return str(deployment.params.vertex_location) ?? env.VERTEXAI_LOCATION ?? env.VERTEX_LOCATION ?? DEFAULT_LOCATION;
}

/** The regional host, or the global one; `api_base` overrides both (a trailing /v1 is tolerated). */
export function vertexBase(deployment: Deployment, location: string): string {
  if (deployment.apiBase !== undefined) return deployment.apiBase.replace(/\/+$/, '').replace(/\/v1$/, '');
  return location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`;
}

export async function vertexTarget(deployment: Deployment, env: NodeJS.ProcessEnv = process.env): Promise<VertexTarget> {
  const credentials = await credentialsFor(deployment);
  const location = vertexLocation(deployment, env);
  const project = str(deployment.params.vertex_project) ?? env.VERTEXAI_PROJECT ?? env.VERTEX_PROJECT ?? credentials.projectId ?? env.GOOGLE_CLOUD_PROJECT;
  if (project === undefined) {
    throw errors.misconfigured(`Deployment ${deployment.id} (vertex_ai) has no project: set vertex_project or VERTEXAI_PROJECT`);
  }
  const token = await credentials.tokens.get();
  return { project, location, base: vertexBase(deployment, location), token, rejected: () => credentials.tokens.invalidate(token) };
}

/** `{base}/v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{method}` */
/** Forget the token when Vertex says it is not valid; pass the error on. */
export function noteRejectedToken(err: unknown, target: VertexTarget): unknown {
  if (err instanceof GatewayError && err.status === 401) target.rejected();
  return err;
}

export function vertexModelUrl(target: Pick<VertexTarget, 'base' | 'project' | 'location'>, publisher: Publisher, model: string, method: string): string {
  return joinUrl(target.base, `/v1/projects/${target.project}/locations/${target.location}/publishers/${publisher}/models/${model}:${method}`);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
