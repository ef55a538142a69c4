/**
 * Three real Tollgate servers on one empty Postgres and no Redis (many teams run exactly this):
 * startup says the counters are in the database; a key created, then blocked, on one instance is
 * honoured by the others within a second — the poll interval (`user_api_key_cache_ttl`) is a
 * minute, so only LISTEN/NOTIFY can explain it — and an `rpm_limit: 60` key admits exactly 60 of
 * 300 concurrent calls spread over the three.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { adminPost, chatStatus, msUntil } from '../helpers/calls.js';
import { BACKENDS, createPostgresSchema } from '../storage/backends.js';

const MASTER = 'sk-master-pg-e2e';
const skip = BACKENDS.find((b) => b.name === 'postgres')?.skip;
const YAML = `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
general_settings: { master_key: ${MASTER}, user_api_key_cache_ttl: 60, proxy_batch_write_at: 0.2 }
`;

const chat = chatStatus;
const admin = (url: string, path: string, body: object): Promise<Record<string, unknown>> => adminPost(url, MASTER, path, body);

describe.skipIf(skip !== undefined)(`three servers on one Postgres without Redis${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  let drop: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    const schema = await createPostgresSchema();
    drop = schema.drop;
    for (let i = 0; i < 3; i++) gateways.push(createGateway(parseConfigText(YAML, 'config.yaml', {}), { env: {}, databaseUrl: schema.url }));
    urls.push(...(await Promise.all(gateways.map((g) => g.listen(0, '127.0.0.1')))));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await drop();
  });

  it('says where the counters are', () => {
    expect(gateways[0]!.stateMode).toContain('shared through postgres (exact across every instance on this database');
    expect(gateways[0]!.warnings.join('\n')).not.toContain('counted in this process only');
  });

  it('a key created, then blocked, on one instance is honoured by the others within a second', async () => {
    const { key } = (await admin(urls[0]!, '/key/generate', {})) as { key: string };
    for (const url of urls.slice(1)) expect(await msUntil(async () => (await chat(url, key)) === 200, 1000)).toBeLessThan(1000);
    await admin(urls[0]!, '/key/block', { key });
    for (const url of urls.slice(1)) expect(await msUntil(async () => (await chat(url, key)) === 401, 1000)).toBeLessThan(1000);
  });

  it('an rpm_limit of 60 admits exactly 60 of 300 concurrent calls spread over the three', async () => {
    const { key } = (await admin(urls[1]!, '/key/generate', { rpm_limit: 60 })) as { key: string };
    for (const g of gateways) await g.tenancy.sync(true);
    const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(urls[i % 3]!, key)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(240);
  });
});
