/**
 * Real `tollgate serve` processes for tests: the CLI is bundled once per test run with esbuild
 * (0.1 s; packages stay external, so it runs the same code and dependencies as `npm start`) into
 * `.test-build/`, then each gateway is its own `node` process listening on a free port.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
// Two levels below the root, as dist/cli/ is, so the CLI finds config/ the same way.
const BUNDLE = join(ROOT, '.test-build', 'cli', 'tollgate.mjs');
let built: Promise<unknown> | undefined;

function buildCli(): Promise<unknown> {
  built ??= promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'esbuild'), [
    join(ROOT, 'test', 'helpers', 'tollgate-cli.ts'),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--packages=external',
    '--target=node20',
    `--outfile=${BUNDLE}`,
    '--log-level=warning',
  ]);
  return built;
}

export interface TollgateProcess {
  url: string;
  process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Start `tollgate serve` on a free port with this config text; resolves once it listens. */
export async function startTollgate(configYaml: string, env: NodeJS.ProcessEnv = {}, options: { args?: string[]; timeoutMs?: number; /** null: no --host at all (the CLI's own default). */ host?: string | null } = {}): Promise<TollgateProcess> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-proc-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, configYaml);
  // Only what the test gives, plus PATH: no credentials or Redis from the developer's shell.
  const child = spawn(process.execPath, [BUNDLE, 'serve', '--config', config, '--port', '0', ...(options.host === null ? [] : ['--host', options.host ?? '127.0.0.1']), ...(options.args ?? [])], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tollgate did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (): void => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tollgate exited (${code}) before listening:\n${output}`));
    });
  });
  return { url, process: child, output: () => output, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}
