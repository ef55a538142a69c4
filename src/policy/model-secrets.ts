/**
 * Upstream credentials of deployments stored with `/model/new` (`litellm_params.api_key`,
 * `aws_secret_access_key`, `vertex_credentials`, …) are encrypted at rest with AES-256-GCM under a
 * key derived (HKDF-SHA256) from `LITELLM_SALT_KEY` (LiteLLM's name), else `TOLLGATE_SALT_KEY`,
 * else the master key. They are decrypted when records are loaded into memory; the database only
 * ever holds `tollgate:enc:v1:<base64(iv | tag | ciphertext)>` for them.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { isSecretParam } from '../core/deployment.js';

const PREFIX = 'tollgate:enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;


/** Where the encryption secret comes from, in LiteLLM's order. */
export function modelSecretFrom(env: NodeJS.ProcessEnv, masterKey: string | undefined): string | undefined {
  for (const v of [env.LITELLM_SALT_KEY, env.TOLLGATE_SALT_KEY, masterKey]) if (v !== undefined && v !== '') return v;
  return undefined;
}

export const SECRET_ENV_HINT = 'set LITELLM_SALT_KEY (or TOLLGATE_SALT_KEY, or a master key) so Tollgate can encrypt it at rest';

export class MissingSecretError extends Error {
  constructor(readonly field: string) {
    super(`litellm_params.${field}: cannot store a credential without an encryption secret; ${SECRET_ENV_HINT}`);
  }
}

export class ModelSecrets {
  private readonly key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.key = secret === undefined ? undefined : Buffer.from(hkdfSync('sha256', secret, 'tollgate-model-secrets', 'litellm_params v1', 32));
  }

  /** The params as stored: credential fields encrypted. Throws MissingSecretError without a secret. */
  seal(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(params)) {
      if (!isSecretParam(name) || value === null || value === undefined || isSealed(value) || isEnvReference(value)) {
        out[name] = value;
        continue;
      }
      if (this.key === undefined) throw new MissingSecretError(name);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      out[name] = PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    }
    return out;
  }

  /** The params in memory: credential fields decrypted; `failed` names fields that could not be (left out). */
  open(params: Readonly<Record<string, unknown>>): { params: Record<string, unknown>; failed: string[] } {
    const out: Record<string, unknown> = {};
    const failed: string[] = [];
    for (const [name, value] of Object.entries(params)) {
      if (!isSealed(value)) {
        out[name] = value;
        continue;
      }
      try {
        if (this.key === undefined) throw new Error('no secret');
        const raw = Buffer.from(value.slice(PREFIX.length), 'base64');
        const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
        out[name] = JSON.parse(text) as unknown;
      } catch {
        failed.push(name);
      }
    }
    return { params: out, failed };
  }
}

function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

function isEnvReference(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('os.environ/');
}
