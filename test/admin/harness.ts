/**
 * The management API on a bare fastify app (the gateway's own body parser, the admin routes, the
 * policy stack of test/policy/harness.ts) and a curl-like `call` through fastify inject.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Deployment } from '../../src/core/deployment.js';
import { registerJsonBodyParser } from '../../src/http/body.js';
import { registerAdminRoutes } from '../../src/http/routes/admin/index.js';
import type { Database } from '../../src/storage/ports.js';
import { bearer, MASTER, stack, type Clock, type Stack } from '../policy/harness.js';

/** What `JSON.parse` gives (as fastify inject's `json()` does): tests read whatever LiteLLM's shape has in it. */
type Json = ReturnType<typeof JSON.parse>;

export interface Answer {
  status: number;
  body: Json;
  headers: Record<string, unknown>;
  text: string;
}

export interface AdminHarness extends Stack {
  app: FastifyInstance;
  /** `curl -X <method> <url> -H 'Authorization: Bearer <key>' -d '<body>'`; key null = none sent. */
  call(method: 'GET' | 'POST', url: string, body?: unknown, key?: string | null): Promise<Answer>;
}

export const CONFIG_DEPLOYMENTS: Deployment[] = [
  {
    id: 'cfg-1',
    modelGroup: 'gpt-4o',
    provider: 'openai',
    model: 'gpt-4o',
    apiKey: 'sk-upstream-secret',
    timeoutMs: 1000,
    streamTimeoutMs: 1000,
    params: { model: 'openai/gpt-4o', api_key: 'sk-upstream-secret', rpm: 10 },
  },
];

export async function adminHarness(db: Database, options: { clock?: Clock; storeModelInDb?: boolean; logger?: boolean | object; modelSecret?: string | null; configModels?: Deployment[] } = {}): Promise<AdminHarness> {
  const s = await stack(db, { clock: options.clock, modelSecret: options.modelSecret });
  const app = Fastify({ logger: options.logger ?? false });
  registerJsonBodyParser(app);
  registerAdminRoutes(app, { auth: s.auth, tenancy: s.tenancy, configModels: () => options.configModels ?? CONFIG_DEPLOYMENTS, storeModelInDb: options.storeModelInDb ?? true });
  await app.ready();
  return {
    ...s,
    app,
    async call(method, url, body, key = MASTER) {
      const res = await app.inject({
        method,
        url,
        headers: { ...(key === null ? {} : bearer(key)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      let parsed: Json;
      try {
        parsed = res.json();
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers, text: res.body };
    },
    async close() {
      await app.close();
      await s.close();
    },
  };
}

/** One field of each object in a JSON list (`pluck(body.keys, 'token')`). */
export function pluck(list: unknown, field: string): unknown[] {
  return (list as Record<string, unknown>[]).map((item) => item[field]);
}
