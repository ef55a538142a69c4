/**
 * `tollgate doctor [--config FILE]`: everything a gateway needs before it serves, checked in one
 * go and printed as a table (or `--json`): the config and its `os.environ/` references, each
 * deployment's provider, price and credentials, the database, Redis, and one cheap authenticated
 * request per provider deployment. Exit 1 when any line is FAIL; WARN does not fail.
 */
import { parseArgs } from 'node:util';
import { checkConfig, deploymentLabels } from './doctor-config.js';
import { doctorFacts } from '../server.js';
import { providerProbe } from './doctor-probes.js';
import { databaseProbe, redisProbe } from './doctor-stores.js';
import { runProbe, type CheckLine, type Probe } from './doctor-types.js';

export const DOCTOR_HELP = `Usage: tollgate doctor [--config FILE] [--timeout SECONDS] [--no-probe] [--json]

Checks a configuration before serving it: the config file (unknown keys are a warning), every
os.environ/ reference (set or missing; values are never printed), each deployment's provider,
price (per kind of token) and credentials, the database (opened read-only, never migrated),
Redis (PING) and one cheap authenticated request per provider deployment.

  -c, --config FILE    Config to check (default as for serve).
      --timeout S      Seconds each network check may take (default 5).
      --no-probe       Do not call the providers (the database and Redis are still checked).
      --json           One JSON object instead of the table.
Exit status: 0 when no line is FAIL (WARN lines do not fail), 1 otherwise, 2 for bad arguments.
`;

export interface DoctorIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const processIo: DoctorIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

export async function runDoctor(argv: string[], defaultConfig: () => string, io: DoctorIo = processIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        timeout: { type: 'string' },
        'no-probe': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr(`tollgate doctor: ${err instanceof Error ? err.message : String(err)}\n\n${DOCTOR_HELP}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(DOCTOR_HELP);
    return 0;
  }
  const timeoutS = Number(values.timeout ?? 5);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    io.stderr(`tollgate doctor: --timeout must be a positive number of seconds, got "${values.timeout}"\n`);
    return 2;
  }
  const lines = await diagnose(values.config ?? defaultConfig(), io.env, { timeoutMs: timeoutS * 1000, probe: values['no-probe'] !== true });
  io.stdout(values.json === true ? `${JSON.stringify(report(lines), null, 2)}\n` : renderTable(lines));
  return lines.some((l) => l.verdict === 'FAIL') ? 1 : 0;
}

export async function diagnose(file: string, env: NodeJS.ProcessEnv, options: { timeoutMs: number; probe: boolean }): Promise<CheckLine[]> {
  const config = await checkConfig(file, env);
  if (config.loaded === undefined) return config.lines;
  const network: Probe[] = [databaseProbe(config.loaded, config.env)];
  const fixed: CheckLine[] = [];
  const redis = redisProbe(config.loaded, config.env);
  if ('run' in redis) network.push(redis);
  else fixed.push(redis);
  const labels = deploymentLabels(config.deployments);
  const probes = options.probe ? config.deployments.flatMap((d, i) => (doctorFacts().providerNames().includes(d.provider) ? [providerProbe(d, labels[i] ?? d.modelGroup, config.env)] : [])) : [];
  // All at once: a report of n unreachable hosts takes one timeout, not n.
  const [stores, upstreams] = await Promise.all([Promise.all(network.map((p) => runProbe(p, options.timeoutMs))), Promise.all(probes.map((p) => runProbe(p, options.timeoutMs)))]);
  const skipped: CheckLine[] = options.probe ? [] : [{ check: 'probe', target: 'providers', verdict: 'OK', detail: 'skipped (--no-probe)' }];
  return [...config.lines, ...stores, ...fixed, ...upstreams, ...skipped];
}

export function report(lines: readonly CheckLine[]): { ok: boolean; counts: Record<'OK' | 'WARN' | 'FAIL', number>; checks: readonly CheckLine[] } {
  const counts = { OK: 0, WARN: 0, FAIL: 0 };
  for (const l of lines) counts[l.verdict]++;
  return { ok: counts.FAIL === 0, counts, checks: lines };
}

export function renderTable(lines: readonly CheckLine[]): string {
  const rows = [['CHECK', 'TARGET', 'VERDICT', 'DETAIL'], ...lines.map((l) => [l.check, l.target, l.verdict, l.detail])];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const body = rows.map((r) => r.map((cell, col) => (col < 3 ? cell.padEnd(widths[col] ?? 0) : cell)).join('  ').trimEnd()).join('\n');
  const { counts } = report(lines);
  return `${body}\n\n${counts.FAIL === 0 ? 'healthy' : 'problems found'}: ${counts.OK} OK, ${counts.WARN} WARN, ${counts.FAIL} FAIL\n`;
}
