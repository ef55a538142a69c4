/**
 * Reads a LiteLLM-style config file: YAML, `environment_variables` applied first, then every
 * `os.environ/NAME` string resolved, then validated. Every failure is a ConfigError naming the file,
 * the path inside it and the reason, so startup fails with one readable line.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, unimplementedKeys, type RawConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}: ${path === '' ? '' : `${path}: `}${reason}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  file: string;
  config: RawConfig;
  /** Keys present in the file that Tollgate does not act on (yet). */
  unimplemented: string[];
}

const ENV_PREFIX = 'os.environ/';

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch (err) {
    throw new ConfigError(file, '', `not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(file, '', 'the top level must be a mapping');

  applyEnvironmentVariables(doc as Record<string, unknown>, env);
  const resolved = resolveEnvReferences(doc, '', file, env);
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) throw fromZodError(file, parsed.error);
  return { file, config: parsed.data, unimplemented: unimplementedKeys(parsed.data) };
}

/** LiteLLM sets `environment_variables` into the process environment before anything else. */
function applyEnvironmentVariables(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const vars = doc.environment_variables;
  if (typeof vars !== 'object' || vars === null) return;
  for (const [name, value] of Object.entries(vars)) {
    if (env[name] === undefined && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      env[name] = String(value);
    }
  }
}

function resolveEnvReferences(value: unknown, path: string, file: string, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string' && value.startsWith(ENV_PREFIX)) {
    const name = value.slice(ENV_PREFIX.length).trim();
    const resolved = env[name];
    if (resolved === undefined) {
      throw new ConfigError(file, path, `environment variable ${name} is not set (referenced as "${value}")`);
    }
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnvReferences(item, `${path}[${i}]`, file, env));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      out[key] = resolveEnvReferences(child, path === '' ? key : `${path}.${key}`, file, env);
    }
    return out;
  }
  return value;
}

function fromZodError(file: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  if (issue === undefined) return new ConfigError(file, '', 'invalid configuration');
  const path = issue.path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new ConfigError(file, path, `${issue.message}${more}`);
}
