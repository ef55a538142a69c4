/**
 * The address `tollgate serve` binds when none is named, through the real CLI: loopback for an open
 * gateway (it would be an open proxy holding provider keys), every interface with a master key.
 * The startup line names the socket actually bound (fastify's own line says 127.0.0.1 for 0.0.0.0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import { startTollgate, type TollgateProcess } from '../helpers/tollgate-process.js';

const CONFIG = `
model_list:
  - model_name: mock
    litellm_params: { model: mock/echo }
general_settings: { database_url: ":memory:" }
`;
let running: TollgateProcess | undefined;
afterEach(async () => {
  running?.kill();
  await running?.exited;
  running = undefined;
});

/** An address of this machine that is not loopback, to show what a bind does or does not reach. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

describe('the default bind address', () => {
  it('without a master key: 127.0.0.1, and the startup line says why', async () => {
    running = await startTollgate(CONFIG, {}, { host: null });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The reason follows the listening line, which is what startTollgate waits for.
    const proc = running;
    await expect.poll(() => proc.output(), { timeout: 5000 }).toMatch(/bound to 127\.0\.0\.1 because no master key is configured/);
    const port = new URL(running.url).port;
    const external = externalAddress();
    if (external !== undefined) expect(await reachable(`http://${external}:${port}`)).toBe(false);
    expect(await reachable(running.url)).toBe(true);
  });

  it('with a master key: 0.0.0.0, reachable on every interface, no loopback reason', async () => {
    running = await startTollgate(CONFIG, { TOLLGATE_MASTER_KEY: 'sk-bind-test' }, { host: null });
    expect(running.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(running.output()).not.toMatch(/bound to/);
    const port = new URL(running.url).port;
    const external = externalAddress();
    expect(await reachable(`http://${external ?? '127.0.0.1'}:${port}`)).toBe(true);
  });

  it('HOST and TOLLGATE_HOST name the address for an open gateway too', async () => {
    running = await startTollgate(CONFIG, { TOLLGATE_HOST: '0.0.0.0' }, { host: null });
    expect(running.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(running.output()).not.toMatch(/bound to/);
    running.kill();
    await running.exited;
    running = await startTollgate(CONFIG, { HOST: '127.0.0.1', TOLLGATE_HOST: '0.0.0.0', TOLLGATE_MASTER_KEY: 'sk-bind-test' }, { host: null });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
