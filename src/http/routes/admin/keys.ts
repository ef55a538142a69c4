/**
 * `/key/generate`, `/key/update`, `/key/info`, `/v2/key/info`, `/key/list`, `/key/delete`,
 * `/key/regenerate` (also `/key/{key}/regenerate`), `/key/block`, `/key/unblock`,
 * `/key/{key}/reset_spend`, `/key/health`. Only `generate` and `regenerate` answers carry a plaintext key (`key`);
 * everywhere else a key is its token (SHA-256 hex), including where LiteLLM echoes the input back.
 *
 * Proxy admins may do everything; internal users manage their own keys, team members what their
 * team's member permissions allow, team admins their team's keys (src/policy/admin/key-access.ts).
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../../core/errors.js';
import { notFound } from '../../../policy/admin/common.js';
import { KeyAccess } from '../../../policy/admin/key-access.js';
import { tokenOf, type KeyChanges } from '../../../policy/admin/keys.js';
import { canViewAll, forbidden as denied, isProxyAdmin } from '../../../policy/admin/roles.js';
import type { KeyFilter, KeyRecord } from '../../../policy/records.js';
import { bool, budgetChanges, expiry, extras, intMap, KEY_EXTRAS, object, pageParams, queryParam, str, strings, usd, type Body } from './fields.js';
import { jsonBody, pages, type AdminContext, type Caller } from './context.js';

function keyChanges(b: Body, now: number): KeyChanges {
  const metadata = object(b, 'metadata');
  const metaTags = Array.isArray(metadata?.tags) ? metadata.tags.filter((t): t is string => typeof t === 'string') : undefined;
  return {
    ...budgetChanges(b),
    key_alias: str(b, 'key_alias'),
    user_id: str(b, 'user_id'),
    team_id: str(b, 'team_id'),
    models: strings(b, 'models'),
    model_rpm_limit: intMap(b, 'model_rpm_limit'),
    model_tpm_limit: intMap(b, 'model_tpm_limit'),
    metadata,
    tags: strings(b, 'tags') ?? metaTags,
    blocked: bool(b, 'blocked'),
    expires: expiry(b, now),
    extra: extras(b, KEY_EXTRAS),
  };
}

function keyParam(b: Body): string {
  const key = str(b, 'key');
  if (key === undefined || key === null || key === '') throw errors.invalidRequest('key: required', 'key');
  return key;
}

export function registerKeyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { keys, render, route } = ctx;
  const access = new KeyAccess(ctx.tenancy);

  const generated = async (record: KeyRecord, plaintext: string, b: Body): Promise<Record<string, unknown>> => ({
    ...(await render.key(record)),
    key: plaintext,
    token: record.token,
    token_id: record.token,
    duration: str(b, 'duration') ?? null,
  });

  app.post('/key/generate', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const changes = keyChanges(b, ctx.tenancy.now());
    changes.user_id = await access.checkGenerate(caller.who, changes.user_id, changes.team_id);
    const { plaintext, record } = await keys.generate({ ...changes, key: str(b, 'key') ?? undefined }, caller.actor);
    return generated(record, plaintext, b);
  }));

  app.post('/key/update', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const key = str(b, 'key') ?? undefined;
    const changes = keyChanges(b, ctx.tenancy.now());
    // Without `key`, `key_alias` names the key rather than changing it.
    if (key === undefined) changes.key_alias = undefined;
    const target = { key, key_alias: key === undefined ? (str(b, 'key_alias') ?? undefined) : undefined };
    if (!isProxyAdmin(caller.who)) await access.checkModify(caller.who, await keys.resolve(target), '/key/update', changes);
    const record = await keys.update(target, changes, caller.actor);
    return { ...(await render.key(record)), key: record.token };
  }));

  app.get('/key/info', route('self', async (request, caller) => {
    const asked = queryParam(request.query, 'key');
    const token = asked === undefined ? caller.principal.keyHash : tokenOf(asked);
    if (token === undefined) throw errors.invalidRequest('key: required', 'key');
    // An unknown key is a 404 for anyone, before whose it is matters; LiteLLM's info_key_fn words it
    // "Key not found in database" (param key).
    const record = await keys.get(token);
    if (record === undefined) throw notFound('Key not found in database', 'key');
    await access.requireRead(caller.who, record);
    const info = await render.key(record);
    delete info.token;
    return { key: token, info };
  }));

  // LiteLLM's key health check for the calling key: Tollgate has no per-key logging callbacks to test.
  app.post('/key/health', route('self', () => Promise.resolve({ key: 'healthy', logging_callbacks: null })));

  app.post('/v2/key/info', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const tokens = (strings(b, 'keys') ?? []).map(tokenOf);
    const found = await keys.list({ tokens }, { limit: 1000, offset: 0 });
    const visible = [];
    for (const k of found.keys) if (await access.canRead(caller.who, k)) visible.push(k);
    return { key: tokens, info: await Promise.all(visible.map((k) => render.key(k))) };
  }));

  app.get('/key/list', route('self', async (request, caller) => {
    const { page, size } = pageParams(request.query, 'size', 10);
    const filter: KeyFilter = {};
    const userId = queryParam(request.query, 'user_id');
    const teamId = queryParam(request.query, 'team_id');
    const alias = queryParam(request.query, 'key_alias');
    if (userId !== undefined) filter.userIds = [userId];
    if (teamId !== undefined) filter.teamIds = [teamId];
    if (alias !== undefined) filter.aliases = [alias];
    ownKeysOnly(caller, filter, caller.userId === undefined ? [] : (ctx.tenancy.users.get(caller.userId)?.teams ?? []));
    const { keys: found, total } = await keys.list(filter, { limit: size, offset: (page - 1) * size });
    const full = queryParam(request.query, 'return_full_object') === 'true';
    return {
      keys: full ? await Promise.all(found.map((k) => render.key(k))) : found.map((k) => k.token),
      total_count: total,
      current_page: page,
      total_pages: pages(total, size),
    };
  }));

  app.post('/key/delete', route('self', async (request, caller) => {
    const b = jsonBody(request);
    const given = strings(b, 'keys') ?? [];
    const aliases = strings(b, 'key_aliases') ?? [];
    if (given.length === 0 && aliases.length === 0) throw errors.invalidRequest("At least one of 'keys' or 'key_aliases' must be provided.", 'keys');
    if (!isProxyAdmin(caller.who)) {
      const targets = await keys.list(given.length > 0 ? { tokens: given.map(tokenOf) } : { aliases }, { limit: 1000, offset: 0 });
      if (targets.keys.length === 0) throw notFound('No keys found', 'keys');
      for (const k of targets.keys) await access.checkDelete(caller.who, k);
    }
    const deleted = await keys.delete(given, aliases);
    // LiteLLM answers with what was asked for: the keys (here their tokens) or the aliases.
    return { deleted_keys: given.length > 0 ? deleted : aliases };
  }));

  const regenerate = (keyFromPath: boolean) => route('self', async (request, caller) => {
    const b = jsonBody(request);
    const target = keyFromPath ? (request.params as { key: string }).key : keyParam(b);
    const changes = { ...keyChanges(b, ctx.tenancy.now()), new_key: str(b, 'new_key') ?? undefined };
    if (!isProxyAdmin(caller.who)) await access.checkModify(caller.who, await keys.require(target), '/key/regenerate', changes);
    const { plaintext, record } = await keys.regenerate(target, changes, caller.actor);
    return generated(record, plaintext, b);
  });
  app.post('/key/regenerate', regenerate(false));
  app.post('/key/:key/regenerate', regenerate(true));

  for (const [path, blocked] of [['/key/block', true], ['/key/unblock', false]] as const) {
    app.post(path, route('self', async (request, caller) => {
      const key = keyParam(jsonBody(request));
      if (!isProxyAdmin(caller.who)) await access.checkModify(caller.who, await keys.require(key), path);
      return render.key(await keys.setBlocked(key, blocked, caller.actor));
    }));
  }

  app.post('/key/:key/reset_spend', route('write', async (request, caller) => {
    const resetTo = usd(jsonBody(request), 'reset_to');
    if (resetTo === undefined || resetTo === null) throw errors.invalidRequest('reset_to: required (USD)', 'reset_to');
    const record = await keys.update({ key: (request.params as { key: string }).key }, { spend_nano: resetTo }, caller.actor);
    return render.key(record);
  }));
}

/**
 * A caller who is not an admin (or viewer) lists only its own keys, and a team's only when it is in
 * the team (LiteLLM `validate_key_list_check`).
 */
function ownKeysOnly(caller: Caller, filter: KeyFilter, ownTeams: readonly string[]): void {
  if (canViewAll(caller.who)) return;
  const own = caller.userId;
  if (own === undefined) throw denied("You are not authorized to access this endpoint. No 'user_id' is associated with your API key.", 'user_id');
  if (filter.userIds !== undefined && !filter.userIds.includes(own)) throw denied("You are not authorized to check another user's keys", 'user_id');
  if (filter.teamIds?.some((t) => !ownTeams.includes(t)) === true) throw denied("You are not authorized to check this team's keys", 'team_id');
  filter.userIds = [own];
}
