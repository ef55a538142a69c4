/**
 * Virtual-key authentication: the presented key is hashed and looked up in the in-process cache
 * (`Tenancy`), never in the database, so authentication costs one SHA-256 and a Map lookup. The
 * master key keeps working as before; without one the gateway is open, but a presented key that
 * is a known virtual key is still resolved (and its blocks, expiry and budgets still apply).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../core/call-record.js';
import { errors, type GatewayError } from '../core/errors.js';
import { hashKey, presentedKey, type Authenticator } from './auth.js';
import type { Tenancy } from './tenancy.js';

export type AdminAccess = 'write' | 'read' | 'none';

/** The user id LiteLLM gives master-key traffic (`LITELLM_PROXY_ADMIN_NAME`), for labels and `created_by`. */
export const MASTER_KEY_USER_ID = 'default_user_id';

const ADMIN_ROLES = new Set(['proxy_admin']);
const VIEWER_ROLES = new Set(['proxy_admin', 'proxy_admin_viewer']);

function unauthorized(message: string): GatewayError {
  return errors.authentication(message);
}

export class VirtualKeyAuthenticator implements Authenticator {
  private readonly masterHash: Buffer | undefined;

  constructor(
    masterKey: string | undefined,
    private readonly tenancy: Tenancy,
    /** `general_settings.litellm_key_header_name`: a header that carries the key, read first. */
    private readonly options: { keyHeader?: string | undefined } = {},
  ) {
    this.masterHash = masterKey === undefined ? undefined : Buffer.from(hashKey(masterKey), 'hex');
  }

  get open(): boolean {
    return this.masterHash === undefined;
  }

  authenticate(headers: IncomingHttpHeaders): Principal {
    const key = presentedKey(headers, this.options.keyHeader);
    const endUser = headerValue(headers, 'x-litellm-end-user-id') ?? headerValue(headers, 'x-litellm-customer-id');
    if (key === undefined) {
      if (this.open) return { isMaster: false, endUser };
      throw unauthorized('Authentication Error, No api key passed in. Send it as "Authorization: Bearer <key>", "x-api-key" or "api-key".');
    }
    const hash = hashKey(key);
    if (this.masterHash !== undefined && timingSafeEqual(Buffer.from(hash, 'hex'), this.masterHash)) return { isMaster: true, keyHash: hash, endUser };
    const record = this.tenancy.keys.get(hash);
    if (record === undefined) {
      if (this.open) return { isMaster: false, keyHash: hash, endUser };
      throw unauthorized('Authentication Error, Invalid proxy server token passed.');
    }
    if (record.blocked) throw unauthorized("Authentication Error - Key is blocked. Update via `/key/unblock` if you're admin.");
    const now = this.tenancy.now();
    if (record.expires !== null && record.expires <= now) {
      throw unauthorized(`Authentication Error - Expired Key. Key Expiry time ${new Date(record.expires).toISOString()} and current time ${new Date(now).toISOString()}`);
    }
    if (record.team_id !== null && this.tenancy.teams.get(record.team_id)?.blocked === true) {
      throw unauthorized(`Authentication Error - Team=${record.team_id} is blocked. Update via /team/unblock if you're an admin.`);
    }
    return {
      isMaster: false,
      keyHash: hash,
      keyAlias: record.key_alias ?? undefined,
      userId: record.user_id ?? undefined,
      teamId: record.team_id ?? undefined,
      endUser,
    };
  }

  /**
   * What the caller may do on the management API: the master key (or anyone, when open) and keys
   * of `proxy_admin` users may write; `proxy_admin_viewer` keys may read.
   */
  adminAccess(principal: Principal): AdminAccess {
    if (principal.isMaster || this.open) return 'write';
    const role = principal.userId === undefined ? undefined : this.tenancy.users.get(principal.userId)?.user_role;
    if (role !== undefined && role !== null && ADMIN_ROLES.has(role)) return 'write';
    if (role !== undefined && role !== null && VIEWER_ROLES.has(role)) return 'read';
    return 'none';
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
