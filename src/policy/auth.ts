/**
 * Authentication: the key may arrive as `Authorization: Bearer`, `x-litellm-api-key` (LiteLLM's
 * own header), `x-api-key` (Anthropic SDKs, Claude Code) or `api-key` (Azure-style clients), on
 * every surface; with `general_settings.litellm_key_header_name` set, that header is read first
 * (LiteLLM user_api_key_auth: the custom header wins, `Bearer ` optional). Keys are compared and
 * recorded only as SHA-256 hashes. Virtual keys plug in behind `KeyResolver`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../core/call-record.js';
import { errors } from '../core/errors.js';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function bearerOrRaw(value: string): string | undefined {
  const trimmed = value.trim();
  const match = /^Bearer\s+(.+)$/i.exec(trimmed);
  const key = (match?.[1] ?? trimmed).trim();
  return key === '' ? undefined : key;
}

/** The presented key; `customHeader` is `general_settings.litellm_key_header_name` (any case). */
export function presentedKey(headers: IncomingHttpHeaders, customHeader?: string): string | undefined {
  if (customHeader !== undefined) {
    const custom = headers[customHeader.toLowerCase()];
    if (typeof custom === 'string') {
      const key = bearerOrRaw(custom);
      if (key !== undefined) return key;
    }
  }
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined) return match[1].trim();
  }
  for (const name of ['x-litellm-api-key', 'x-api-key', 'api-key'] as const) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') return bearerOrRaw(value);
  }
  return undefined;
}

export interface Authenticator {
  /** Resolves the caller or throws a 401 GatewayError. */
  authenticate(headers: IncomingHttpHeaders): Principal;
  /** True when no master key is configured and every request is let in. */
  readonly open: boolean;
}

export class MasterKeyAuthenticator implements Authenticator {
  private readonly masterHash: Buffer | undefined;

  constructor(masterKey: string | undefined) {
    this.masterHash = masterKey === undefined ? undefined : Buffer.from(hashKey(masterKey), 'hex');
  }

  get open(): boolean {
    return this.masterHash === undefined;
  }

  authenticate(headers: IncomingHttpHeaders): Principal {
    const key = presentedKey(headers);
    const endUser = headerValue(headers, 'x-litellm-end-user-id') ?? headerValue(headers, 'x-litellm-customer-id');
    if (this.masterHash === undefined) {
      return { isMaster: false, keyHash: key === undefined ? undefined : hashKey(key), endUser };
    }
    if (key === undefined) {
      throw errors.authentication('Authentication Error, No api key passed in. Send it as "Authorization: Bearer <key>", "x-api-key" or "api-key".');
    }
    const hash = hashKey(key);
    if (!timingSafeEqual(Buffer.from(hash, 'hex'), this.masterHash)) {
      throw errors.authentication('Authentication Error, Invalid proxy server token passed.');
    }
    return { isMaster: true, keyHash: hash, endUser };
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
