/**
 * Region routing: an end user with `allowed_model_region` (`/customer/new`) is served only by
 * deployments known to be in that region — LiteLLM's `_pre_call_checks` with `is_region_allowed`
 * (litellm/router.py, litellm/utils.py `_get_model_region`). A deployment's region is its
 * `litellm_params.region_name`, else what its own location says (Bedrock `aws_region_name`,
 * Vertex `vertex_location`); a deployment whose region cannot be told is left out, as LiteLLM does.
 *
 * Tollgate applies this whether or not `enable_pre_call_checks` is on (LiteLLM only checks with it):
 * a data-residency promise to an end user should not depend on an unrelated performance switch.
 */
import type { Deployment } from '../core/deployment.js';
import { errors } from '../core/errors.js';

export type ModelRegion = 'eu' | 'us';

function str(d: Deployment, key: string): string | undefined {
  const value = d.params[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The region a deployment serves from, when it can be told. */
export function deploymentRegion(d: Deployment): string | undefined {
  const named = str(d, 'region_name');
  if (named !== undefined) return named.toLowerCase();
  if (d.provider === 'bedrock' || d.provider === 'bedrock_converse') return regionOf(str(d, 'aws_region_name'), /^eu-/, /^us-/);
  if (d.provider === 'vertex_ai' || d.provider === 'vertex_ai_beta') return regionOf(str(d, 'vertex_location'), /^europe-/, /^us-/);
  return undefined;
}

function regionOf(location: string | undefined, eu: RegExp, us: RegExp): ModelRegion | undefined {
  if (location === undefined) return undefined;
  if (eu.test(location)) return 'eu';
  if (us.test(location)) return 'us';
  return undefined;
}

/** The deployments of a group an end user restricted to `allowed` may use; refuses when none. */
export function filterByRegion(deployments: readonly Deployment[], allowed: string, model: string): readonly Deployment[] {
  const want = allowed.toLowerCase();
  const kept = deployments.filter((d) => deploymentRegion(d) === want);
  if (kept.length > 0) return kept;
  throw errors.invalidRequest(
    `No deployments available for model=${model} in allowed_model_region=${allowed}: no deployment of this model declares that region (litellm_params.region_name)`,
    'model',
  );
}
