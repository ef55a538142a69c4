/**
 * Readers for the files under deploy/: YAML with narrow accessors (the files are untyped, and a
 * wrong shape should fail with the path that was wrong), Compose's variable interpolation, the
 * Dockerfile's instructions, and the facts the gateway states about itself in `tollgate --help`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = path.join(REPO, 'deploy');

export type Obj = Record<string, unknown>;

export function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  return value as Obj;
}

export function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

export function str(value: unknown, what: string): string {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Follows a dotted path through mappings (and list indexes), failing with the path on a miss. */
export function at(value: unknown, dotted: string): unknown {
  let current = value;
  for (const part of dotted.split('.')) {
    current = Array.isArray(current) ? current[Number(part)] : obj(current, dotted)[part];
    if (current === undefined) throw new Error(`missing ${dotted} (at "${part}")`);
  }
  return current;
}

export function readText(relative: string): string {
  return readFileSync(path.join(REPO, relative), 'utf8');
}

/** One YAML document; `<<` merge keys resolved as Compose resolves them. Parse errors throw. */
export function readYaml(relative: string): unknown {
  return parse(readText(relative), { merge: true, prettyErrors: true });
}

/** Every document of a multi-document YAML file; any document's error throws. */
export function readYamlDocuments(relative: string): unknown[] {
  return parseAllDocuments(readText(relative)).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${relative} document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/**
 * Compose's interpolation with an empty environment: `${NAME:-default}` and `${NAME-default}` give
 * the default, `${NAME}` gives '', `$$` is a literal `$`. What `docker compose up` sees with no
 * .env file.
 */
export function interpolate(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (match: string, _name?: string, fallback?: string) => (match === '$$' ? '$' : (fallback ?? '')));
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  return value;
}

/** A Compose `environment`, as a map or as a list of NAME=value. */
export function composeEnvironment(value: unknown, what: string): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((item) => {
        const [name = '', ...rest] = str(item, what).split('=');
        return [name, rest.join('=')];
      }),
    );
  }
  return Object.fromEntries(Object.entries(obj(value, what)).map(([k, v]) => [k, str(v, `${what}.${k}`)]));
}

export interface Instruction {
  keyword: string;
  args: string;
  /** The stage this instruction belongs to (its FROM … AS name, or its index). */
  stage: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
export function dockerInstructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = '';
  let stages = 0;
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    if (keyword === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages++);
    out.push({ keyword, args, stage });
  }
  return out;
}

/** The facts `tollgate --help` states: default port, environment variable names, probe paths. */
export interface HelpFacts {
  defaultPort: number;
  envNames: Set<string>;
  healthPaths: string[];
}

export function helpFacts(help: string): HelpFacts {
  const port = /Default: (\d+) \(or \$PORT\)/.exec(help)?.[1];
  const env = /\nEnvironment:\n([\s\S]*?)\n\S/.exec(help)?.[1];
  const endpoints = /\nEndpoints:\n([\s\S]*?)(?:\n\n|\n\S|$)/.exec(help)?.[1];
  if (port === undefined || env === undefined || endpoints === undefined) throw new Error('tollgate --help no longer has the port default, Environment or Endpoints section');
  return {
    defaultPort: Number(port),
    envNames: new Set(env.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b(?:PORT|HOST)\b/g) ?? []),
    healthPaths: endpoints.match(/\/health\/[a-z]+/g) ?? [],
  };
}

/** Names a LiteLLM-style config reads through `os.environ/NAME`. */
export function configEnvRefs(configText: string): Set<string> {
  return new Set([...configText.matchAll(/^[^#\n]*os\.environ\/([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1] ?? ''));
}
