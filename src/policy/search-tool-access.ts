/**
 * Which search tools a caller may use: LiteLLM's `can_caller_call_search_tool`
 * (litellm/proxy/auth/auth_checks.py). Grants are `object_permission.search_tools` lists on the key
 * and on its team (given with `/key/generate`, `/team/new` and their updates).
 *
 * By default a list restricts only when it is non-empty: no list, or an empty one, allows every
 * tool; a list without the tool is a 403 (LiteLLM's legacy type `key_model_access_denied`). With
 * `general_settings.search_tool_deny_by_default`, every owning identity must grant the tool: the
 * key's list must name it, and so must its team's when it has one (`key_search_tool_access_denied`,
 * `team_search_tool_access_denied`). The master key is never restricted.
 */
import { errors } from '../core/errors.js';
import { isObject } from '../core/json.js';
import type { Principal } from '../core/call-record.js';
import type { KeyRecord, TeamRecord } from './records.js';

/** The record's `object_permission.search_tools`: undefined when it has none (null counts as none). */
export function grantedSearchTools(record: Pick<KeyRecord | TeamRecord, 'extra'> | undefined): string[] | undefined {
  const permission = record?.extra.object_permission;
  if (!isObject(permission) || !Array.isArray(permission.search_tools)) return undefined;
  return permission.search_tools.filter((t): t is string => typeof t === 'string');
}

const pyList = (items: readonly string[]): string => `[${items.map((i) => `'${i}'`).join(', ')}]`;

function refuse(object: 'key' | 'team', tool: string, granted: readonly string[] | undefined, type: string): never {
  const allowed = granted === undefined || granted.length === 0 ? 'no search tools' : `search_tools=${pyList(granted)}`;
  throw errors.permissionDenied(`${object === 'key' ? 'Key' : 'Team'} not allowed to access search tool. This ${object} can only access ${allowed}. Tried to access ${tool}`, {
    param: 'search_tool_name',
    type,
  });
}

export interface SearchToolCaller {
  principal: Principal;
  key: KeyRecord | undefined;
  team: TeamRecord | undefined;
}

export function checkSearchToolAccess(tool: string, caller: SearchToolCaller, denyByDefault: boolean): void {
  if (caller.principal.isMaster) return;
  const keyTools = grantedSearchTools(caller.key);
  const teamId = caller.key?.team_id ?? caller.principal.teamId;
  const teamTools = grantedSearchTools(caller.team);
  if (!denyByDefault) {
    if (keyTools !== undefined && keyTools.length > 0 && !keyTools.includes(tool)) refuse('key', tool, keyTools, 'key_model_access_denied');
    if (teamTools !== undefined && teamTools.length > 0 && !teamTools.includes(tool)) refuse('team', tool, teamTools, 'key_model_access_denied');
    return;
  }
  if (keyTools?.includes(tool) !== true) refuse('key', tool, keyTools, 'key_search_tool_access_denied');
  if (teamId !== undefined && teamId !== null && teamTools?.includes(tool) !== true) refuse('team', tool, teamTools, 'team_search_tool_access_denied');
}
