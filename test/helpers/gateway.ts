/**
 * Start a real Tollgate server in-process on a free port, from LiteLLM-style YAML text, for
 * end-to-end tests. The returned object exposes the call log so tests can check records.
 */
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';

export interface TestGateway {
  url: string;
  gateway: Gateway;
  close: () => Promise<void>;
}

export async function startGateway(yaml: string, env: NodeJS.ProcessEnv = {}, now?: () => number): Promise<TestGateway> {
  const loaded = parseConfigText(yaml, 'test-config.yaml', env);
  const gateway = createGateway(loaded, { env, now, databaseUrl: ':memory:', spendFlushIntervalMs: 50 });
  const url = await gateway.listen(0, '127.0.0.1');
  return { url, gateway, close: () => gateway.close() };
}

/** Wait until the call log holds `count` records (records are written when the response ends). */
export async function waitForCalls(gateway: Gateway, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (gateway.calls.records().length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} call records, have ${gateway.calls.records().length}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
