/**
 * `tollgate doctor` as an operator runs it: the real CLI (bundled as tollgate-process.ts bundles
 * it) in its own process, against the fake upstreams, the test Postgres and the test Redis. Exit
 * codes, verdicts and the table's shape are checked; so is that no secret reaches the output.
 * The copies doctor keeps of other layers' knowledge are checked against their originals here.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { BACKENDS, createPostgresSchema } from '../storage/backends.js';
import { REDIS_URL, redisSkip } from '../storage/redis-gate.js';
import { openDatabase } from '../../src/storage/database.js';
import { migrations } from '../../src/storage/migrations.js';

const ROOT = join(import.meta.dirname, '..', '..');
// Its own bundle (not tollgate-process.ts's file), so parallel test files never write one file at once.
const BUNDLE = join(ROOT, '.test-build', 'doctor', 'cli', 'tollgate.mjs');
const run = promisify(execFile);

const GOOD_OPENAI = 'sk-doctor-openai-good-0123456789';
const GOOD_ANTHROPIC = 'sk-ant-doctor-good-0123456789';
const WRONG = 'sk-doctor-wrong-9876543210';

interface Line {
  check: string;
  target: string;
  verdict: 'OK' | 'WARN' | 'FAIL';
  detail: string;
}

async function doctor(yaml: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-doctor-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, yaml);
  try {
    // Only what the test gives, plus PATH: no credentials or Redis from the developer's shell.
    const { stdout, stderr } = await run(process.execPath, [BUNDLE, 'doctor', '--config', config, ...args], { cwd: dir, env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function doctorJson(yaml: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; lines: Line[]; raw: string; ok: boolean }> {
  const out = await doctor(yaml, env, ['--json', ...args]);
  const parsed = JSON.parse(out.stdout) as { ok: boolean; checks: Line[] };
  return { code: out.code, lines: parsed.checks, raw: out.stdout + out.stderr, ok: parsed.ok };
}

const find = (lines: Line[], check: string, target: string): Line | undefined => lines.find((l) => l.check === check && l.target === target);

describe('tollgate doctor', () => {
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;

  beforeAll(async () => {
    await run(join(ROOT, 'node_modules', '.bin', 'esbuild'), [
      join(ROOT, 'test', 'helpers', 'tollgate-cli.ts'),
      '--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node20', `--outfile=${BUNDLE}`, '--log-level=warning',
    ]);
    openai = await startFakeOpenAI({ apiKey: GOOD_OPENAI });
    anthropic = await startFakeAnthropic({ apiKey: GOOD_ANTHROPIC });
  });
  afterAll(async () => {
    await openai.close();
    await anthropic.close();
  });

  const models = (openaiKey: string, anthropicKey: string): string => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: ${openaiKey} }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: ${anthropicKey} }
  - model_name: mock
    litellm_params: { model: mock/gpt-4o }
`;

  const pgSkip = BACKENDS.find((b) => b.name === 'postgres')?.skip;

  it.skipIf(pgSkip !== undefined || redisSkip !== undefined)('all OK on a migrated Postgres, a live Redis and accepted keys: exit 0', async () => {
    const { url, drop } = await createPostgresSchema();
    const db = openDatabase(url, tmpdir());
    try {
      await db.migrate();
      const yaml = `${models('os.environ/DOCTOR_OPENAI_KEY', 'os.environ/DOCTOR_ANTHROPIC_KEY')}general_settings:\n  database_url: os.environ/DOCTOR_DB\n`;
      const env = { DOCTOR_OPENAI_KEY: GOOD_OPENAI, DOCTOR_ANTHROPIC_KEY: GOOD_ANTHROPIC, DOCTOR_DB: url, REDIS_URL };
      const before = openai.requests.length + anthropic.requests.length;
      const { code, lines, raw, ok } = await doctorJson(yaml, env);
      expect(lines.filter((l) => l.verdict !== 'OK')).toEqual([]);
      expect(code).toBe(0);
      expect(ok).toBe(true);
      // 3 deployments × (provider, price, credentials, probe) + config + 3 env + database + redis.
      expect(lines).toHaveLength(3 * 4 + 1 + 3 + 2);
      expect(find(lines, 'env', 'DOCTOR_OPENAI_KEY')?.detail).toMatch(/^set \(referenced at model_list\[0\]\.litellm_params\.api_key\)/);
      expect(find(lines, 'database', url)?.detail).toContain(`migrations up to date (${Object.keys(migrations('postgres')).length})`);
      expect(find(lines, 'redis', REDIS_URL.replace(/\/$/, ''))?.detail).toContain('PING answered');
      expect(find(lines, 'price', 'gpt-4o-mini (openai/gpt-4o-mini)')?.detail).toContain('in $0.15 out $0.6');
      // Each provider was actually asked: the fakes have no model list, so each fell back once.
      expect(openai.requests.length + anthropic.requests.length - before).toBe(4);
      expect(anthropic.requests.at(-1)?.path).toBe('/v1/messages/count_tokens');
      for (const secret of [GOOD_OPENAI, GOOD_ANTHROPIC]) expect(raw).not.toContain(secret);
    } finally {
      await db.close();
      await drop();
    }
  });

  it('prints an aligned table with a verdict per line and a summary', async () => {
    const { code, stdout } = await doctor(models(GOOD_OPENAI, GOOD_ANTHROPIC), {});
    const rows = stdout.split('\n\n')[0]!.split('\n');
    expect(rows[0]).toMatch(/^CHECK\s+TARGET\s+VERDICT\s+DETAIL$/);
    const verdictAt = rows[0]!.indexOf('VERDICT');
    for (const row of rows.slice(1)) expect(row.slice(verdictAt).split(' ')[0]).toMatch(/^(OK|WARN|FAIL)$/);
    // A SQLite file that does not exist yet is a warning (serve creates it), never created by doctor.
    expect(rows.find((r) => r.startsWith('database'))).toMatch(/WARN\s+does not exist yet/);
    const counts = ['OK', 'WARN', 'FAIL'].map((v) => rows.slice(1).filter((r) => r.slice(verdictAt).startsWith(`${v} `)).length);
    expect(stdout).toContain(`${counts[0]} OK, ${counts[1]} WARN, ${counts[2]} FAIL`);
    expect(counts[2]).toBe(0);
    expect(code).toBe(0);
  });

  it('a missing os.environ/ variable: FAIL naming it, the deployment is not probed, exit 1', async () => {
    const before = openai.requests.length;
    const { code, lines, raw } = await doctorJson(models('os.environ/DOCTOR_UNSET_KEY', 'os.environ/DOCTOR_SET_KEY'), { DOCTOR_SET_KEY: GOOD_ANTHROPIC });
    expect(code).toBe(1);
    expect(find(lines, 'env', 'DOCTOR_UNSET_KEY')).toMatchObject({ verdict: 'FAIL', detail: expect.stringContaining('not set (referenced at model_list[0].litellm_params.api_key)') as unknown });
    expect(find(lines, 'env', 'DOCTOR_SET_KEY')?.verdict).toBe('OK');
    expect(find(lines, 'credentials', 'gpt-4o-mini (openai/gpt-4o-mini)')).toMatchObject({ verdict: 'FAIL', detail: 'api_key comes from os.environ/DOCTOR_UNSET_KEY, which is not set' });
    expect(find(lines, 'probe', 'gpt-4o-mini (openai/gpt-4o-mini)')?.verdict).toBe('WARN');
    expect(openai.requests.length).toBe(before);
    expect(lines.filter((l) => l.verdict === 'FAIL').map((l) => l.check).sort()).toEqual(['credentials', 'env']);
    expect(raw).not.toContain(GOOD_ANTHROPIC);
  });

  it('a model with no price: FAIL on its price line; --no-probe calls no provider', async () => {
    const yaml = `
model_list:
  - model_name: private
    litellm_params: { model: openai/doctor-private-model, api_base: "${openai.url}/v1", api_key: ${GOOD_OPENAI} }
  - model_name: half-priced
    litellm_params: { model: openai/doctor-private-model, api_base: "${openai.url}/v1", api_key: ${GOOD_OPENAI}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: elsewhere
    litellm_params: { model: frobnicate/x }
`;
    const before = openai.requests.length;
    const { code, lines } = await doctorJson(yaml, {}, ['--no-probe']);
    expect(code).toBe(1);
    expect(find(lines, 'price', 'private (openai/doctor-private-model)')).toMatchObject({ verdict: 'FAIL', detail: expect.stringContaining('no price for openai/doctor-private-model') as unknown });
    // Priced by the config, but with no cache-read rate: cached tokens would cost null.
    expect(find(lines, 'price', 'half-priced (openai/doctor-private-model)')).toMatchObject({ verdict: 'WARN', detail: expect.stringContaining('in $1 out $2 per MTok (config)') as unknown });
    expect(lines.filter((l) => l.check === 'probe')).toEqual([{ check: 'probe', target: 'providers', verdict: 'OK', detail: 'skipped (--no-probe)' }]);
    // An unknown provider is one FAIL, not also an unpriced and uncredentialed deployment.
    expect(lines.filter((l) => l.target === 'elsewhere (frobnicate/x)')).toMatchObject([{ check: 'provider', verdict: 'FAIL' }]);
    expect(openai.requests.length).toBe(before);
  });

  it('a wrong provider key: the fake answers 401 and the probe FAILs naming the deployment', async () => {
    const { code, lines, raw } = await doctorJson(models(WRONG, WRONG), {});
    expect(code).toBe(1);
    const probes = lines.filter((l) => l.check === 'probe' && l.verdict === 'FAIL');
    expect(probes.map((l) => l.target).sort()).toEqual(['claude (anthropic/claude-sonnet-4-5)', 'gpt-4o-mini (openai/gpt-4o-mini)']);
    for (const p of probes) expect(p.detail).toMatch(/^credentials refused \(HTTP 401/);
    expect(find(lines, 'probe', 'mock (mock/gpt-4o)')?.verdict).toBe('OK');
    expect(raw).not.toContain(WRONG);
  });

  it('an unreachable Redis: FAIL within the timeout, exit 1', async () => {
    const started = Date.now();
    const { code, lines } = await doctorJson(models(GOOD_OPENAI, GOOD_ANTHROPIC), { REDIS_URL: 'redis://:doctor-redis-pw@127.0.0.1:1' }, ['--timeout', '2']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(code).toBe(1);
    const redis = lines.find((l) => l.check === 'redis');
    expect(redis).toMatchObject({ target: 'redis://:***@127.0.0.1:1', verdict: 'FAIL' });
    expect(lines.filter((l) => l.verdict === 'FAIL')).toEqual([redis]);
  });

  it('a migrated SQLite file is OK and left byte-for-byte as it was; a missing one is not created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-doctor-db-'));
    const path = join(dir, 'tollgate.db');
    const db = openDatabase(path, dir);
    await db.migrate();
    await db.close();
    const digest = (): string => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = digest();
    const { lines } = await doctorJson(models(GOOD_OPENAI, GOOD_ANTHROPIC), { DATABASE_URL: path }, ['--no-probe']);
    expect(find(lines, 'database', `sqlite ${path}`)).toMatchObject({ verdict: 'OK', detail: `SQLite reachable; migrations up to date (${Object.keys(migrations('sqlite')).length})` });
    expect(digest()).toBe(before);
    const absent = join(dir, 'not-yet', 'tollgate.db');
    const second = await doctorJson(models(GOOD_OPENAI, GOOD_ANTHROPIC), { DATABASE_URL: absent }, ['--no-probe']);
    expect(find(second.lines, 'database', `sqlite ${absent}`)?.verdict).toBe('WARN');
    expect(second.code).toBe(0);
    expect(existsSync(absent)).toBe(false);
  });

  it('a Redis and a provider that accept connections but never answer: FAIL at --timeout, and the process ends', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const yaml = `model_list:\n  - model_name: stuck\n    litellm_params: { model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:${port}/v1", api_key: ${GOOD_OPENAI} }\n`;
      const started = Date.now();
      const { code, lines } = await doctorJson(yaml, { REDIS_URL: `redis://127.0.0.1:${port}` }, ['--timeout', '1']);
      const elapsed = Date.now() - started;
      expect(code).toBe(1);
      expect(find(lines, 'redis', `redis://127.0.0.1:${port}`)).toMatchObject({ verdict: 'FAIL', detail: 'no answer within 1 s' });
      expect(find(lines, 'probe', 'stuck (openai/gpt-4o-mini)')).toMatchObject({ verdict: 'FAIL', detail: 'no answer within 1 s' });
      // Both waited at once: one timeout plus start-up, not two.
      expect(elapsed).toBeLessThan(1000 + 5000);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('bad arguments exit 2; tollgate --help lists doctor', async () => {
    expect((await doctor('model_list: []\n', {}, ['--timeout', 'soon'])).code).toBe(2);
    const { stdout } = await run(process.execPath, [BUNDLE, '--help']);
    expect(stdout).toMatch(/^\s+tollgate doctor \[--config FILE\]/m);
    expect(stdout).toMatch(/^\s+doctor\s+Check a config/m);
  });
});
