/**
 * Authentication: the key may arrive as `Authorization: Bearer`, `x-api-key` (Anthropic SDKs,
 * Claude Code) or `api-key` (Azure-style clients), on every surface. Keys are compared and recorded
 * only as SHA-256 hashes. Virtual keys plug in behind `KeyResolver`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../core/call-record.js';
import { GatewayError } from '../core/errors.js';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined) return match[1].trim();
  }
  for (const name of ['x-api-key', 'api-key'] as const) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
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
      throw new GatewayError({
        code: 'authentication',
        status: 401,
        message: 'Authentication Error, No api key passed in. Send it as "Authorization: Bearer <key>", "x-api-key" or "api-key".',
      });
    }
    const hash = hashKey(key);
    if (!timingSafeEqual(Buffer.from(hash, 'hex'), this.masterHash)) {
      throw new GatewayError({ code: 'authentication', status: 401, message: 'Authentication Error, Invalid proxy server token passed.' });
    }
    return { isMaster: true, keyHash: hash, endUser };
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
