/**
 * The offline half of `tollgate doctor`: the config file, its `os.environ/` references, and each
 * deployment's provider, price and credentials. Unlike startup, which stops at the first missing
 * variable, every reference is reported: a missing one is replaced by a marker so the rest of the
 * file can still be validated, and whatever needed it is reported as missing.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfigText, type LoadedConfig } from '../config/loader.js';
import { buildDeployments } from '../config/deployments.js';
import type { Deployment } from '../core/deployment.js';
import { doctorFacts, type DoctorFacts } from '../server.js';

type BaseRates = NonNullable<ReturnType<DoctorFacts['baseRates']>>['rates'];
/** The registry, pricing and storage as the gateway has them (server.ts re-exports doctor-host.ts). */
const FACTS = doctorFacts();
import type { CheckLine } from './doctor-types.js';

const ENV_PREFIX = 'os.environ/';
/** Stands in for a missing variable's value; never a real value, so it is recognisable downstream. */
const MISSING = '\u0000doctor-missing:';

export interface ConfigReport {
  lines: CheckLine[];
  loaded?: LoadedConfig | undefined;
  /** The environment the config sees (environment_variables applied, missing references marked). */
  env: NodeJS.ProcessEnv;
  deployments: Deployment[];
}

export function isMissing(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(MISSING);
}

function missingName(value: string): string {
  return value.slice(MISSING.length);
}

export async function checkConfig(file: string, processEnv: NodeJS.ProcessEnv): Promise<ConfigReport> {
  // A copy: environment_variables and the markers must not leak into this process's environment.
  const env: NodeJS.ProcessEnv = { ...processEnv };
  const lines: CheckLine[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    lines.push({ check: 'config', target: file, verdict: 'FAIL', detail: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
    return { lines, env, deployments: [] };
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch (err) {
    lines.push({ check: 'config', target: file, verdict: 'FAIL', detail: `not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
    return { lines, env, deployments: [] };
  }
  const vars = isRecord(doc) ? doc.environment_variables : undefined;
  const fromConfig = new Set<string>();
  if (isRecord(vars)) for (const [name, value] of Object.entries(vars)) if (env[name] === undefined && ['string', 'number', 'boolean'].includes(typeof value)) {
    env[name] = String(value);
    fromConfig.add(name);
  }

  const refs = new Map<string, string[]>();
  collectRefs(doc, '', refs);
  const envLines: CheckLine[] = [];
  for (const [name, paths] of refs) {
    const where = `referenced at ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''}`;
    const value = env[name];
    if (value === undefined) {
      envLines.push({ check: 'env', target: name, verdict: 'FAIL', detail: `not set (${where})` });
      env[name] = `${MISSING}${name}`;
    } else if (value === '') envLines.push({ check: 'env', target: name, verdict: 'WARN', detail: `set but empty (${where})` });
    else envLines.push({ check: 'env', target: name, verdict: 'OK', detail: `set${fromConfig.has(name) ? ' by environment_variables' : ''} (${where})` });
  }

  let loaded: LoadedConfig;
  try {
    loaded = parseConfigText(text, file, env);
  } catch (err) {
    const detail = err instanceof ConfigError ? `${err.path === '' ? '' : `${err.path}: `}${err.reason}` : String(err);
    lines.push({ check: 'config', target: file, verdict: 'FAIL', detail: detail.replaceAll(MISSING, 'missing:') }, ...envLines);
    return { lines, env, deployments: [] };
  }
  const unknown = loaded.unimplemented;
  lines.push(
    unknown.length === 0
      ? { check: 'config', target: file, verdict: 'OK', detail: `parses; ${loaded.config.model_list.length} model(s)` }
      : { check: 'config', target: file, verdict: 'WARN', detail: `parses; keys Tollgate ignores: ${unknown.join(', ')}` },
    ...envLines,
  );

  const { deployments, problems } = buildDeployments(loaded.config, env);
  for (const p of problems) lines.push({ check: 'provider', target: p.path, verdict: 'FAIL', detail: p.reason });
  const labels = deploymentLabels(deployments);
  deployments.forEach((d, i) => {
    const target = labels[i] ?? d.modelGroup;
    // Price and credentials of a provider Tollgate cannot call would only repeat the one problem.
    if (!FACTS.providerNames().includes(d.provider)) lines.push(providerLine(d, target));
    else lines.push(providerLine(d, target), priceLine(d, target), credentialsLine(d, target, env));
  });
  return { lines, loaded, env, deployments };
}

/** `group (provider/model)`, numbered when two deployments would read the same. */
export function deploymentLabels(deployments: readonly Deployment[]): string[] {
  const base = deployments.map((d) => `${d.modelGroup} (${d.provider}/${d.model})`);
  return base.map((label, i) => (base.filter((l) => l === label).length > 1 ? `${label} #${base.slice(0, i + 1).filter((l) => l === label).length}` : label));
}

function providerLine(d: Deployment, target: string): CheckLine {
  if (FACTS.providerNames().includes(d.provider)) return { check: 'provider', target, verdict: 'OK', detail: d.provider };
  return { check: 'provider', target, verdict: 'FAIL', detail: `unknown provider "${d.provider}"; known: ${FACTS.providerNames().join(', ')}` };
}

const PER_MTOK = 1e6;

function priceLine(d: Deployment, target: string): CheckLine {
  const wildcard = d.model === '*' || d.model.endsWith('/*');
  if (wildcard && d.baseModel === undefined) return { check: 'price', target, verdict: 'WARN', detail: 'wildcard: priced per requested model at call time (unpriced models cost null)' };
  const found = FACTS.baseRates(d);
  const mock = d.provider === 'mock';
  if (found === null) {
    return {
      check: 'price',
      target,
      verdict: mock ? 'WARN' : 'FAIL',
      detail: `no price for ${d.provider}/${d.baseModel ?? d.model}: calls cost null. Set model_info.base_model to a priced model, or input_cost_per_token / output_cost_per_token`,
    };
  }
  const r = found.rates;
  const embedding = d.modelInfo?.mode === 'embedding' || /embed/i.test(d.model);
  const missing: string[] = [];
  if (r.input === undefined) missing.push('input');
  if (r.output === undefined && !embedding) missing.push('output');
  const shown = `${fmt('in', r.input)}${fmt(' out', r.output)}${fmt(' cache-read', r.cacheRead)}${fmt(' cache-write', r.cacheWrite5m)} per MTok (${found.source})`;
  if (missing.length > 0) return { check: 'price', target, verdict: mock ? 'WARN' : 'FAIL', detail: `no ${missing.join('/')} price: ${shown}` };
  // A cache rate matters where the provider bills cache tokens: reads everywhere, writes for Claude.
  const cacheMissing = cacheGaps(d, r);
  if (cacheMissing.length > 0) return { check: 'price', target, verdict: 'WARN', detail: `no ${cacheMissing.join('/')} price (such tokens cost null): ${shown}` };
  return { check: 'price', target, verdict: 'OK', detail: shown };
}

function cacheGaps(d: Deployment, r: BaseRates): string[] {
  if (d.modelInfo?.mode === 'embedding' || /embed/i.test(d.model)) return [];
  const gaps: string[] = [];
  if (r.cacheRead === undefined) gaps.push('cache-read');
  if (/claude/i.test(d.baseModel ?? d.model) && r.cacheWrite5m === undefined) gaps.push('cache-write');
  return gaps;
}

function fmt(label: string, usdPerToken: number | undefined): string {
  if (usdPerToken === undefined) return '';
  return `${label} $${Number((usdPerToken * PER_MTOK).toPrecision(6))}`;
}

/** Where a deployment's credentials come from, without reading them out. */
function credentialsLine(d: Deployment, target: string, env: NodeJS.ProcessEnv): CheckLine {
  const c = credentialsOf(d, env);
  return { check: 'credentials', target, ...c };
}

export function credentialsOf(d: Deployment, env: NodeJS.ProcessEnv): Pick<CheckLine, 'verdict' | 'detail'> {
  const p = (key: string): string | undefined => (typeof d.params[key] === 'string' && d.params[key] !== '' ? d.params[key] : undefined);
  const fromParam = (keys: string[]): string | undefined => keys.find((k) => p(k) !== undefined);
  const fromEnv = (names: string[]): string | undefined => names.find((n) => env[n] !== undefined && env[n] !== '');
  const missingRef = Object.entries(d.params).find(([, v]) => isMissing(v) && true);
  if (missingRef !== undefined && /key|token|secret|credential|password/i.test(missingRef[0])) {
    return { verdict: 'FAIL', detail: `${missingRef[0]} comes from os.environ/${missingName(missingRef[1] as string)}, which is not set` };
  }
  const either = (params: string[], envs: string[], none: string): Pick<CheckLine, 'verdict' | 'detail'> => {
    const param = fromParam(params);
    if (param !== undefined) return { verdict: 'OK', detail: param };
    const e = fromEnv(envs);
    if (e !== undefined) return { verdict: 'OK', detail: `$${e}` };
    return { verdict: 'FAIL', detail: none };
  };
  switch (d.provider) {
    case 'mock':
      return { verdict: 'OK', detail: 'none needed' };
    case 'azure':
      return either(['api_key', 'azure_ad_token'], ['AZURE_API_KEY', 'AZURE_AD_TOKEN'], 'none: set api_key (or AZURE_API_KEY) or azure_ad_token (or AZURE_AD_TOKEN)');
    case 'gemini':
      return either(['api_key'], ['GEMINI_API_KEY', 'GOOGLE_API_KEY'], 'none: set api_key or GEMINI_API_KEY');
    case 'cohere':
    case 'cohere_chat':
      return either(['api_key'], ['COHERE_API_KEY', 'CO_API_KEY'], 'none: set api_key or COHERE_API_KEY');
    case 'bedrock':
    case 'bedrock_converse': {
      const param = fromParam(['api_key', 'aws_access_key_id', 'aws_profile_name', 'aws_role_name', 'aws_web_identity_token']);
      if (param !== undefined) return { verdict: 'OK', detail: param };
      const e = fromEnv(['AWS_BEARER_TOKEN_BEDROCK', 'AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']);
      // Instance metadata and SSO leave no trace in the environment: the probe resolves the chain.
      return e !== undefined ? { verdict: 'OK', detail: `$${e}` } : { verdict: 'WARN', detail: 'none named: the AWS default chain (shared config, SSO, instance role) is tried' };
    }
    case 'vertex_ai':
    case 'vertex_ai_beta': {
      if (d.params.vertex_credentials !== undefined) return { verdict: 'OK', detail: 'vertex_credentials' };
      const e = fromEnv(['GOOGLE_APPLICATION_CREDENTIALS']);
      return e !== undefined ? { verdict: 'OK', detail: `$${e}` } : { verdict: 'WARN', detail: 'none named: Application Default Credentials (gcloud login, metadata server) are tried' };
    }
    default: {
      if (d.apiKey !== undefined && d.apiKey !== '') return { verdict: 'OK', detail: 'api_key' };
      // Self-hosted OpenAI-compatible servers often take no key; a public endpoint never does.
      if (d.apiBase === undefined) return { verdict: 'FAIL', detail: `no api_key for ${d.defaultApiBase ?? d.provider}` };
      return { verdict: 'WARN', detail: 'no api_key (fine for a server that needs none)' };
    }
  }
}

function collectRefs(value: unknown, path: string, refs: Map<string, string[]>): void {
  if (typeof value === 'string' && value.startsWith(ENV_PREFIX)) {
    const name = value.slice(ENV_PREFIX.length).trim();
    refs.set(name, [...(refs.get(name) ?? []), path]);
  } else if (Array.isArray(value)) value.forEach((item, i) => collectRefs(item, `${path}[${i}]`, refs));
  else if (isRecord(value)) for (const [key, child] of Object.entries(value)) collectRefs(child, path === '' ? key : `${path}.${key}`, refs);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
