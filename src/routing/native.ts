/**
 * Native-shaped calls (Bedrock runtime and Vertex rawPredict ingress): which deployments can take
 * such a body, how the platform's clients name a deployment's model, and the provider call that
 * forwards it. The body is the platform's own, so only deployments of that platform (and, for
 * InvokeModel, of Claude) qualify.
 */
import type { Deployment } from '../core/deployment.js';
import { errors } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Usage } from '../core/usage.js';
import { bedrockNativeFor } from '../providers/bedrock/index.js';
import { bedrockRoute, isAnthropicModel, servesInvoke } from '../providers/bedrock/model-id.js';
import type { NativeBedrockAction } from '../providers/bedrock/native.js';
import { bedrockRegion } from '../providers/bedrock/transport.js';
import type { StreamTap, UpstreamCall } from '../providers/types.js';
import { isVertexClaude } from '../providers/vertex/index.js';
import { vertexNativeCall, vertexNativeCountTokens } from '../providers/vertex/native.js';
import type { ModelTable, ResolvedGroup } from './router.js';

export type NativeKind =
  | { platform: 'bedrock'; action: NativeBedrockAction }
  /** `method` as the client's path named it; only rawPredict and streamRawPredict are served. */
  | { platform: 'vertex'; method: string }
  | { platform: 'vertex-count-tokens' };

export type NativeAnswer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer; usage: Usage }
  | { kind: 'stream'; status: number; headers: Record<string, string>; chunks: AsyncIterable<Buffer | string>; tap: StreamTap };

function isBedrock(d: Deployment): boolean {
  return d.provider === 'bedrock' || d.provider === 'bedrock_converse';
}

/** The id a Bedrock client would put in the URL for this deployment. */
export function bedrockIdOf(d: Deployment): string {
  return bedrockRoute(d.provider, d.model).modelId;
}

/** `claude-sonnet-4-5@20250929`: the id a Vertex client puts in the URL for this deployment. */
export function vertexIdOf(d: Deployment): string {
  return d.model.replace(/^anthropic\//, '');
}

/** InvokeModel carries an Anthropic body: only Claude deployments (or wildcards, checked per call) take it. */
function acceptsInvoke(d: Deployment): boolean {
  return isBedrock(d) && (d.model.includes('*') || servesInvoke(d.provider, d.model));
}

function acceptsVertexClaude(d: Deployment): boolean {
  return (d.provider === 'vertex_ai' || d.provider === 'vertex_ai_beta') && (d.model.includes('*') || isVertexClaude(d.model));
}

interface Platform {
  name: string;
  accept: (d: Deployment) => boolean;
  idOf: (d: Deployment) => string;
}

const INVOKE: Platform = { name: 'Bedrock', accept: acceptsInvoke, idOf: bedrockIdOf };
const CONVERSE: Platform = { name: 'Bedrock', accept: isBedrock, idOf: bedrockIdOf };
const VERTEX: Platform = { name: 'Vertex AI', accept: acceptsVertexClaude, idOf: vertexIdOf };

function platformOf(kind: NativeKind): Platform {
  if (kind.platform !== 'bedrock') return VERTEX;
  return kind.action.startsWith('invoke') ? INVOKE : CONVERSE;
}

/**
 * The model id of the path → a group of deployments that can serve it: a model group of that exact
 * name, else the deployments whose own model id it is, else a wildcard group. Deployments of other
 * providers are left out (a Bedrock body cannot go to Vertex as it is).
 */
export function resolveNative(models: ModelTable, kind: NativeKind, modelId: string): ResolvedGroup {
  const platform = platformOf(kind);
  const resolved = models.resolve(modelId);
  const pick = (group: ResolvedGroup | undefined): ResolvedGroup | undefined => {
    const deployments = group?.deployments.filter(platform.accept) ?? [];
    return group === undefined || deployments.length === 0 ? undefined : { ...group, deployments };
  };
  const exact = resolved?.wildcardMatch === undefined ? pick(resolved) : undefined;
  if (exact !== undefined) return exact;
  const byId = models.all().filter((d) => platform.accept(d) && !d.model.includes('*') && platform.idOf(d) === modelId);
  const first = byId[0];
  if (first !== undefined) return { name: first.modelGroup, deployments: byId.filter((d) => d.modelGroup === first.modelGroup) };
  const wildcard = resolved?.wildcardMatch !== undefined ? pick(resolved) : undefined;
  if (wildcard !== undefined) return wildcard;
  const other = resolved === undefined ? '' : ` ("${resolved.name}" is served by ${[...new Set(resolved.deployments.map((d) => d.provider))].join(', ')}, not ${platform.name})`;
  throw errors.notFound(`No ${platform.name} deployment serves model "${modelId}"${other}. Configure a deployment with that model id or a model group of that name.`);
}

/** One attempt of a native call: the platform's body forwarded (re-signed) to the deployment. */
export async function nativeSend(kind: NativeKind, raw: Buffer, body: JsonObject, call: UpstreamCall): Promise<NativeAnswer> {
  if (kind.platform === 'bedrock') {
    if (kind.action.startsWith('invoke') && !servesInvoke(call.deployment.provider, call.upstreamModel)) {
      // A wildcard deployment learns the model per call; only Claude takes the Anthropic body.
      throw errors.invalidRequest(`${call.upstreamModel} is not a Claude model: Tollgate forwards InvokeModel bodies to Claude only; use /converse for it`);
    }
    return bedrockNativeFor(call.deployment).call(kind.action, raw, body, call);
  }
  if (kind.platform === 'vertex-count-tokens') return { kind: 'json', usage: {}, ...(await vertexNativeCountTokens(body, call)) };
  if (kind.method !== 'rawPredict' && kind.method !== 'streamRawPredict') {
    throw errors.notFound(`Unknown method "${kind.method}": Tollgate serves rawPredict and streamRawPredict for Anthropic models`);
  }
  return vertexNativeCall(kind.method, raw, body, call);
}

export interface InferenceProfileSummary {
  inferenceProfileName: string;
  description: string;
  inferenceProfileArn: string;
  inferenceProfileId: string;
  models: { modelArn: string }[];
  status: 'ACTIVE';
  type: 'APPLICATION' | 'SYSTEM_DEFINED';
}

/**
 * ListInferenceProfiles, as Claude Code asks for it at startup (`?type=SYSTEM_DEFINED`): the
 * configured Bedrock Claude models that are cross-region profiles (`us.`, `eu.`, `global.` …), or
 * application profile ARNs for `type=APPLICATION`, in AWS's shape.
 */
export function bedrockInferenceProfiles(models: ModelTable, type: string | undefined): InferenceProfileSummary[] {
  const seen = new Set<string>();
  const summaries: InferenceProfileSummary[] = [];
  for (const d of models.all()) {
    if (!isBedrock(d) || d.model.includes('*')) continue;
    const id = bedrockIdOf(d);
    if (!isAnthropicModel(id) || seen.has(id)) continue;
    const application = id.startsWith('arn:');
    const geo = /^[a-z-]+\.anthropic\./.test(id);
    if (!application && !geo) continue;
    if (type !== undefined && type !== (application ? 'APPLICATION' : 'SYSTEM_DEFINED')) continue;
    seen.add(id);
    const region = bedrockRegion(d, process.env);
    const foundation = id.replace(/^[a-z-]+\./, '');
    summaries.push({
      inferenceProfileName: id,
      description: `Tollgate model group ${d.modelGroup}`,
      inferenceProfileArn: application ? id : `arn:aws:bedrock:${region}::inference-profile/${id}`,
      inferenceProfileId: application ? (id.split('/').at(-1) ?? id) : id,
      models: application ? [] : [{ modelArn: `arn:aws:bedrock:${region}::foundation-model/${foundation}` }],
      status: 'ACTIVE',
      type: application ? 'APPLICATION' : 'SYSTEM_DEFINED',
    });
  }
  return summaries;
}
