/**
 * `tollgate serve | --help`. Configuration is a LiteLLM-style YAML file; flags override where it is
 * listened on.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/loader.js';
import { createGateway, type Gateway } from '../server.js';
import { GATEWAY_VERSION } from '../observability/headers.js';
import { ADMIN_HELP, runAdminCommand } from './admin.js';
import { isClusterWorker, parseWorkers, primaryChannel, runPrimary } from './cluster.js';
import { chooseBindAddress } from './bind-address.js';
import { runDoctor } from './doctor.js';

export const HELP = `tollgate ${GATEWAY_VERSION} — an LLM gateway speaking the OpenAI and Anthropic APIs

Usage:
  tollgate serve [--config FILE] [--port N] [--host H] [--metrics-port N] [--workers N|auto]
  tollgate doctor [--config FILE] [--timeout S] [--no-probe] [--json]
  tollgate keys|users|teams <command> ...   (the management API from a terminal; see below)
  tollgate --help | --version

Commands:
  serve            Run the gateway.
  doctor           Check a config before serving it: environment references, prices,
                   credentials, database, Redis and each provider (tollgate doctor --help).

Options:
  -c, --config FILE  LiteLLM-compatible config.yaml. Default: ./tollgate.yaml if it exists,
                     else the bundled config/default.yaml (mock models, no credentials needed).
  -p, --port N       Port to listen on. Default: 4000 (or $PORT).
  -H, --host H       Address to bind. Default: $HOST, else $TOLLGATE_HOST, else 0.0.0.0 when a
                     master key is configured and 127.0.0.1 (this machine only) when none is.
      --metrics-port N  Also serve /metrics on this port, without authentication, so scrapes
                     never compete with traffic (or $TOLLGATE_METRICS_PORT / $PROMETHEUS_METRICS_PORT).
  -w, --workers N    Worker processes sharing the port (default 1; "auto" = one per CPU, or
                     $TOLLGATE_WORKERS). Without Redis they share limits, budgets and
                     cooldowns through the primary process; /metrics sums every worker.
  -h, --help         Show this help.
  -v, --version      Show the version.

Environment:
  TOLLGATE_MASTER_KEY   Master key when general_settings.master_key is not set
                        (LITELLM_MASTER_KEY is read too). Without one the gateway is open.
  TOLLGATE_CONFIG       Config file, when --config is not given.
  PORT, HOST            Defaults for --port and --host (TOLLGATE_HOST is read too).
  DATABASE_URL          Store for spend logs, keys, users, teams (postgres://… or a SQLite path);
                        general_settings.database_url wins. Default: ./data/tollgate.db.
  REDIS_URL             Redis shared by several instances (limits, budgets, admin changes);
                        wins over router_settings.redis_host / litellm_settings.cache_params.
  REDIS_HOST, REDIS_PORT, REDIS_PASSWORD   Used when no config section names a Redis.
  TOLLGATE_METRICS_PORT Same as --metrics-port (PROMETHEUS_METRICS_PORT is read too).
  LITELLM_SALT_KEY      Secret that encrypts upstream credentials stored with /model/new
                        (TOLLGATE_SALT_KEY is read too; else the master key is used).
  Provider credentials used when a deployment names none of its own:
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION /
    AWS_DEFAULT_REGION (the standard AWS chain), AWS_BEARER_TOKEN_BEDROCK (Bedrock API key),
    AWS_BEDROCK_RUNTIME_ENDPOINT; GOOGLE_APPLICATION_CREDENTIALS (Vertex service account; else
    Application Default Credentials), VERTEXAI_PROJECT / VERTEX_PROJECT / GOOGLE_CLOUD_PROJECT,
    VERTEXAI_LOCATION / VERTEX_LOCATION; GEMINI_API_KEY / GOOGLE_API_KEY (Gemini API);
    AZURE_API_KEY, AZURE_API_BASE, AZURE_API_VERSION, AZURE_AD_TOKEN.
  TOLLGATE_LOG          Set to "debug" or "info" for request logs on stderr (default: off).
  os.environ/NAME       Any config value written this way is read from the environment;
                        a missing variable stops startup with its name.

Endpoints:
  POST /v1/chat/completions   OpenAI chat completions (also /chat/completions)
  POST /v1/completions        Legacy text completions (also /completions)
  POST /v1/responses          OpenAI Responses API, Codex (also /responses); GET/DELETE
                              /v1/responses/{id}, …/input_items, …/cancel, POST …/compact
  POST /v1/messages           Anthropic messages (also ?beta=true)
  POST /v1/messages/count_tokens
  POST /v1/embeddings         Embeddings (also /embeddings)
  POST /v1/moderations, /v1/images/generations, /v1/audio/transcriptions, /v1/audio/speech,
       /v1/rerank             OpenAI's other endpoints and LiteLLM's rerank
  POST /v1/search/{tool}      LiteLLM's search tools (search_tools: in the config)
  GET  /v1/models             Models the caller may use (also /models)
  GET  /health/liveliness, /health/readiness, HEAD /
  GET  /metrics               Prometheus metrics (LiteLLM's names; see docs/metrics.md)
  GET  /spend/logs, /global/spend/report   Spend logs and reports, per session too (master key)
  POST /key/generate, /user/new, /team/new, ...   Management API (docs/admin-api.md)

${ADMIN_HELP}`;

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOLLGATE_CONFIG !== undefined && env.TOLLGATE_CONFIG !== '') return env.TOLLGATE_CONFIG;
  if (existsSync('tollgate.yaml')) return 'tollgate.yaml';
  return fileURLToPath(new URL('../../config/default.yaml', import.meta.url));
}

export async function main(argv: string[]): Promise<number> {
  // The admin CLI has flags of its own: hand it the arguments before serve's parser sees them.
  if (argv[0] === 'keys' || argv[0] === 'users' || argv[0] === 'teams') return runAdminCommand(argv);
  if (argv[0] === 'doctor') return runDoctor(argv.slice(1), defaultConfigPath);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string', short: 'H' },
        'metrics-port': { type: 'string' },
        workers: { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`tollgate: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${GATEWAY_VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  if (command !== 'serve') {
    process.stderr.write(`tollgate: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const port = Number(values.port ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`tollgate: --port must be a number from 0 to 65535, got "${values.port ?? process.env.PORT}"\n`);
    return 2;
  }
  const workers = parseWorkers(values.workers ?? process.env.TOLLGATE_WORKERS);
  if (workers === undefined) {
    process.stderr.write(`tollgate: --workers must be a positive integer or "auto", got "${values.workers ?? process.env.TOLLGATE_WORKERS}"\n`);
    return 2;
  }
  const configPath = values.config ?? defaultConfigPath();
  let started: Gateway | undefined;
  try {
    const loaded = await loadConfigFile(configPath);
    if (workers > 1 && !isClusterWorker()) return await runPrimary(loaded, workers, (line) => void process.stdout.write(`${line}\n`));
    const logLevel = process.env.TOLLGATE_LOG;
    const gateway = (started = createGateway(loaded, { logger: logLevel === 'debug' || logLevel === 'info', cluster: isClusterWorker() ? primaryChannel() : undefined }));
    for (const warning of gateway.warnings) process.stderr.write(`WARNING: ${warning}\n`);
    process.stdout.write(`tollgate: ${gateway.stateMode}\n`);
    const bind = chooseBindAddress(values.host, process.env, gateway.masterKeyConfigured);
    const host = bind.host;
    const address = await gateway.listen(port, host);
    const metricsPort = values['metrics-port'] ?? process.env.TOLLGATE_METRICS_PORT ?? process.env.PROMETHEUS_METRICS_PORT;
    if (metricsPort !== undefined && metricsPort !== '') {
      const metricsUrl = await gateway.listenMetrics(Number(metricsPort), host);
      process.stdout.write(`tollgate metrics on ${metricsUrl}\n`);
    }
    // One write, so whoever waits for the listening line (a supervisor, a test) has the reason too.
    const why = bind.reason === undefined ? '' : `tollgate: bound to ${host} because ${bind.reason}\n`;
    process.stdout.write(`tollgate ${GATEWAY_VERSION} listening on ${address} (config: ${configPath}, models: ${gateway.models.publicNames().join(', ')})\n${why}`);
    let stopping: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals): void => {
      // The same signal again means "now"; another one (a worker gets Ctrl-C's SIGINT and the
      // primary's SIGTERM) changes nothing.
      if (stopping !== undefined) {
        if (signal === stopping) process.exit(1);
        return;
      }
      stopping = signal;
      // Drains in-flight requests and flushes their spend logs before exiting.
      process.stdout.write(`tollgate: ${signal} received; finishing requests in flight (up to ${gateway.shutdownGraceMs / 1000} s), then flushing spend\n`);
      gateway.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return -1;
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`tollgate: configuration error: ${err.message}\n`);
    else process.stderr.write(`tollgate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    // Whatever it had opened (database pool, Redis) is let go before the exit.
    await started?.close().catch(() => undefined);
    return 1;
  }
}
