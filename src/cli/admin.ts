/**
 * `tollgate keys | users | teams …`: the management API from a terminal. Every command is one
 * HTTP call to a running gateway (the same API scripts use), so it works against any instance
 * and needs no database access. Answers are printed as JSON for `jq`; errors as one line on stderr.
 */
import { parseArgs } from 'node:util';

export const ADMIN_HELP = `Usage: tollgate <keys|users|teams> <command> [args] [options]

  keys generate [--alias A] [--user U] [--team T] [--models m1,m2] [--max-budget USD]
                [--budget-duration 1mo] [--soft-budget USD] [--duration 30d] [--rpm N] [--tpm N]
                [--max-parallel N] [--tags a,b] [--metadata JSON]
  keys list [--user U] [--team T] [--alias A] [--page N] [--size N] [--full]
  keys info KEY             keys update KEY [options as for generate]
  keys block KEY            keys unblock KEY
  keys regenerate KEY       keys delete KEY... | --alias A
  users new [--id U] [--email E] [--role R] [--max-budget USD] [--budget-duration D] [--no-key]
  users info ID             users list [--role R] [--page N] [--size N]
  users update ID [options] users delete ID...
  teams new [--id T] [--alias A] [--models m1,m2] [--max-budget USD] [--budget-duration D]
  teams info T              teams list [--user U]
  teams update T [options]  teams delete T...
  teams add-member T USER [--role admin|user]
  teams remove-member T USER

Options:
  --url URL     Gateway address (default $TOLLGATE_URL, else http://localhost:4000)
  --key KEY     Admin key (default $TOLLGATE_MASTER_KEY, else $LITELLM_MASTER_KEY)
  --data JSON   Extra LiteLLM request fields, merged into the request body
KEY is the key itself (sk-…) or its token (SHA-256 hex). Money is in USD.
`;

export interface AdminIo {
  fetch: typeof fetch;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  data: { type: 'string' },
  alias: { type: 'string', multiple: true },
  user: { type: 'string' },
  team: { type: 'string' },
  id: { type: 'string' },
  email: { type: 'string' },
  role: { type: 'string' },
  models: { type: 'string' },
  'max-budget': { type: 'string' },
  'soft-budget': { type: 'string' },
  'budget-duration': { type: 'string' },
  duration: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  'max-parallel': { type: 'string' },
  tags: { type: 'string' },
  metadata: { type: 'string' },
  page: { type: 'string' },
  size: { type: 'string' },
  full: { type: 'boolean' },
  'no-key': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown> | undefined;
}

function number(values: Values, flag: 'max-budget' | 'soft-budget' | 'rpm' | 'tpm' | 'max-parallel' | 'page' | 'size'): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
  return n;
}

function json(raw: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UsageError(`--${flag} must be a JSON object`);
}

const list = (raw: string | undefined): string[] | undefined => raw?.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Body fields from the options shared by create and update commands; absent options are left out. */
function fields(values: Values, aliasField: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    [aliasField]: values.alias?.[0],
    user_id: values.user,
    team_id: values.team,
    user_email: values.email,
    user_role: values.role,
    models: list(values.models),
    max_budget: number(values, 'max-budget'),
    soft_budget: number(values, 'soft-budget'),
    budget_duration: values['budget-duration'],
    duration: values.duration,
    rpm_limit: number(values, 'rpm'),
    tpm_limit: number(values, 'tpm'),
    max_parallel_requests: number(values, 'max-parallel'),
    tags: list(values.tags),
    metadata: json(values.metadata, 'metadata'),
    ...json(values.data, 'data'),
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

function one(args: string[], what: string): string {
  const value = args[0];
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

function plan(resource: string, command: string, args: string[], v: Values): Request {
  const enc = encodeURIComponent;
  if (resource === 'keys') {
    switch (command) {
      case 'generate':
        return { method: 'POST', path: '/key/generate', body: fields(v, 'key_alias') };
      case 'list':
        return { method: 'GET', path: `/key/list${query({ user_id: v.user, team_id: v.team, key_alias: v.alias?.[0], page: number(v, 'page'), size: number(v, 'size'), return_full_object: v.full })}` };
      case 'info':
        return { method: 'GET', path: `/key/info?key=${enc(one(args, 'KEY'))}` };
      case 'update':
        return { method: 'POST', path: '/key/update', body: { ...fields(v, 'key_alias'), key: one(args, 'KEY') } };
      case 'block':
      case 'unblock':
        return { method: 'POST', path: `/key/${command}`, body: { key: one(args, 'KEY') } };
      case 'regenerate':
        return { method: 'POST', path: '/key/regenerate', body: { ...fields(v, 'key_alias'), key: one(args, 'KEY') } };
      case 'delete':
        if (args.length === 0 && v.alias === undefined) throw new UsageError('give the keys to delete, or --alias');
        return { method: 'POST', path: '/key/delete', body: args.length > 0 ? { keys: args } : { key_aliases: v.alias } };
    }
  } else if (resource === 'users') {
    switch (command) {
      case 'new':
        return { method: 'POST', path: '/user/new', body: { ...fields(v, 'user_alias'), user_id: v.id, auto_create_key: v['no-key'] === true ? false : undefined } };
      case 'info':
        return { method: 'GET', path: `/user/info?user_id=${enc(one(args, 'USER'))}` };
      case 'list':
        return { method: 'GET', path: `/user/list${query({ role: v.role, page: number(v, 'page'), page_size: number(v, 'size') })}` };
      case 'update':
        return { method: 'POST', path: '/user/update', body: { ...fields(v, 'user_alias'), user_id: one(args, 'USER') } };
      case 'delete':
        if (args.length === 0) throw new UsageError('give the users to delete');
        return { method: 'POST', path: '/user/delete', body: { user_ids: args } };
    }
  } else if (resource === 'teams') {
    switch (command) {
      case 'new':
        return { method: 'POST', path: '/team/new', body: { ...fields(v, 'team_alias'), team_id: v.id } };
      case 'info':
        return { method: 'GET', path: `/team/info?team_id=${enc(one(args, 'TEAM'))}` };
      case 'list':
        return { method: 'GET', path: `/team/list${query({ user_id: v.user })}` };
      case 'update':
        return { method: 'POST', path: '/team/update', body: { ...fields(v, 'team_alias'), team_id: one(args, 'TEAM') } };
      case 'delete':
        if (args.length === 0) throw new UsageError('give the teams to delete');
        return { method: 'POST', path: '/team/delete', body: { team_ids: args } };
      case 'add-member':
        return { method: 'POST', path: '/team/member_add', body: { team_id: one(args, 'TEAM'), member: { user_id: one(args.slice(1), 'USER'), role: v.role ?? 'user' } } };
      case 'remove-member':
        return { method: 'POST', path: '/team/member_delete', body: { team_id: one(args, 'TEAM'), user_id: one(args.slice(1), 'USER') } };
    }
  }
  throw new UsageError(`unknown command "${resource} ${command}"`);
}

const defaultIo: AdminIo = {
  fetch: (...args) => fetch(...args),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

/** Runs `tollgate keys|users|teams …` (argv without the program name); returns the exit code. */
export async function runAdminCommand(argv: readonly string[], io: AdminIo = defaultIo): Promise<number> {
  let request: Request;
  let values: Values;
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values;
    const [resource, command, ...args] = parsed.positionals;
    if (values.help === true || resource === undefined || command === undefined) {
      io.stdout(ADMIN_HELP);
      return values.help === true ? 0 : 2;
    }
    request = plan(resource, command, args, values);
  } catch (err) {
    io.stderr(`tollgate: ${err instanceof Error ? err.message : String(err)}\n\n${ADMIN_HELP}`);
    return 2;
  }
  const base = (values.url ?? io.env.TOLLGATE_URL ?? 'http://localhost:4000').replace(/\/+$/, '');
  const key = values.key ?? io.env.TOLLGATE_MASTER_KEY ?? io.env.LITELLM_MASTER_KEY;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await io.fetch(`${base}${request.path}`, { method: request.method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) });
  } catch (err) {
    io.stderr(`tollgate: cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // not JSON: printed as it came
  }
  if (!res.ok) {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    io.stderr(`tollgate: ${res.status} ${typeof message === 'string' ? message : text}\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  const created = (body as { key?: unknown } | null)?.key;
  if (typeof created === 'string' && created.startsWith('sk-')) io.stderr('tollgate: this is the only time the key is shown; store it now.\n');
  return 0;
}
