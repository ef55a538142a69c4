/**
 * The real Redis the Redis tests run on (`TOLLGATE_TEST_REDIS_URL`, default 127.0.0.1:6379). When it
 * is unreachable the tests are skipped with the reason printed, except in CI (`CI=true`), where that
 * is a failure. Each test uses its own key prefix, so runs never see each other's counters.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    client.disconnect();
  }
}

const unreachable = await redisReachable();
if (unreachable !== undefined) {
  if (process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable in CI: ${unreachable}`);
  console.warn(`[redis tests] skipping: ${REDIS_URL} unreachable (${unreachable})`);
}

export const redisSkip: string | undefined = unreachable === undefined ? undefined : `Redis unreachable: ${unreachable}`;

export function testPrefix(): string {
  return `tollgate-test:${randomBytes(6).toString('hex')}:`;
}
