/**
 * The deployment files (deploy/) against the gateway they deploy: every file parses, every file
 * they name exists, and the ports, environment variable names, probe paths and config path they
 * use are the ones `tollgate --help` and the source state — read from there, never restated here.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli/main.js';
import { parseConfigText } from '../../src/config/loader.js';
import { resolveRedis } from '../../src/config/redis.js';
import { DEPLOY, REPO, arr, at, composeEnvironment, configEnvRefs, dockerInstructions, helpFacts, interpolate, obj, readText, readYaml, readYamlDocuments, str, type Obj } from './deploy-helpers.js';

const help = helpFacts(HELP);
const configText = readText('deploy/config.yaml');
const configRefs = configEnvRefs(configText);
const liveliness = help.healthPaths.find((p) => p.includes('liveliness'));
const readiness = help.healthPaths.find((p) => p.includes('readiness'));
const routesSource = readText('src/http/routes/info.ts');

const docker = dockerInstructions(readText('deploy/Dockerfile'));
const dockerEnv = new Map(docker.filter((i) => i.keyword === 'ENV' && i.stage === 'runtime').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? ''] as const)));
/** The --config path the image's CMD runs with. */
const imageConfigPath = /"--config",\s*"([^"]+)"/.exec(docker.find((i) => i.keyword === 'CMD')?.args ?? '')?.[1];

const compose = obj(interpolate(readYaml('deploy/compose.yaml')), 'compose.yaml');
const services = obj(compose.services, 'services');
const gatewayNames = Object.keys(services).filter((name) => obj(services[name], name).build !== undefined);
const gatewayEnv = (name: string): Record<string, string> => composeEnvironment(at(services, `${name}.environment`), `${name}.environment`);
const listenPort = (env: Record<string, string>): number => Number(env.PORT ?? help.defaultPort);
const volumes = (service: string): { source: string; target: string }[] =>
  arr(obj(services[service], service).volumes ?? [], `${service}.volumes`).map((v) => {
    const [source = '', target = ''] = str(v, `${service}.volumes`).split(':');
    return { source, target };
  });
/** The host path (under deploy/) a service mounts at a container path, or at a directory above it. */
function hostPathOf(service: string, containerPath: string): string {
  const mount = volumes(service).find((v) => v.source.startsWith('.') && (containerPath === v.target || containerPath.startsWith(`${v.target}/`)));
  if (mount === undefined) throw new Error(`${service} mounts nothing at ${containerPath}`);
  return path.join(DEPLOY, mount.source, path.relative(mount.target, containerPath));
}

describe('what the gateway says about itself', () => {
  it('has the facts these files rely on, and serves the probe paths it lists', () => {
    expect(help.defaultPort).toBeGreaterThan(0);
    expect(liveliness).toBeDefined();
    expect(readiness).toBeDefined();
    for (const p of help.healthPaths) expect(routesSource).toContain(`app.get('${p}'`);
    for (const name of ['TOLLGATE_METRICS_PORT', 'PORT', 'DATABASE_URL', 'REDIS_URL', 'TOLLGATE_CONFIG']) expect(help.envNames).toContain(name);
  });
});

describe('deploy/Dockerfile', () => {
  it('builds in one stage and runs production dependencies in another of the same base, as a non-root user', () => {
    const froms = docker.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const base = (stage: string): string => str(froms.find((f) => f.stage === stage)?.args.split(/\s+/)[0], `FROM of ${stage}`);
    const runtime = docker.filter((i) => i.stage === 'runtime');
    expect(runtime.length).toBeGreaterThan(0);
    const modulesFrom = /--from=(\S+)\s+\S*node_modules/.exec(runtime.find((i) => i.keyword === 'COPY' && i.args.includes('node_modules'))?.args ?? '')?.[1];
    expect(modulesFrom).toBeDefined();
    // The native addon (better-sqlite3) must be built against the image that loads it.
    expect(base(modulesFrom ?? '')).toBe(base('runtime'));
    expect(docker.some((i) => i.stage === modulesFrom && i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(docker.some((i) => i.stage !== 'runtime' && i.keyword === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(dockerEnv.get('NODE_ENV')).toBe('production');
  });

  it('exposes the port --help names, probes liveness there and runs the config it documents', () => {
    const port = Number(dockerEnv.get('PORT') ?? help.defaultPort);
    expect(port).toBe(help.defaultPort);
    expect(docker.find((i) => i.keyword === 'EXPOSE')?.args.split(/\s+/)).toContain(String(port));
    const healthcheck = str(docker.find((i) => i.keyword === 'HEALTHCHECK')?.args, 'HEALTHCHECK');
    expect(healthcheck).toContain(liveliness);
    expect(healthcheck).toContain('process.env.PORT');
    expect(imageConfigPath).toBeDefined();
    expect(dockerEnv.get('TOLLGATE_CONFIG')).toBe(imageConfigPath);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignored = readText('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const copies = docker.filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      for (const source of words.slice(0, -1)) {
        expect(existsSync(path.join(REPO, source)), `COPY ${source}`).toBe(true);
        expect(ignored, `COPY ${source} is in .dockerignore`).not.toContain(source.split('/')[0]);
      }
    }
  });
});

describe('deploy/compose.yaml', () => {
  it('has two gateways built from deploy/Dockerfile, a load balancer, Postgres, Redis, Prometheus and Grafana', () => {
    expect(gatewayNames.length).toBe(2);
    for (const name of gatewayNames) {
      const build = obj(at(services, `${name}.build`), `${name}.build`);
      const context = path.resolve(DEPLOY, str(build.context, 'build.context'));
      expect(context).toBe(REPO);
      expect(path.join(context, str(build.dockerfile, 'build.dockerfile'))).toBe(path.join(DEPLOY, 'Dockerfile'));
    }
    for (const name of ['lb', 'postgres', 'redis', 'prometheus', 'grafana']) expect(Object.keys(services)).toContain(name);
    for (const [name, service] of Object.entries(services)) expect(obj(service, name).image ?? obj(service, name).build, name).toBeDefined();
  });

  it('mounts only files and named volumes that exist', () => {
    const declared = Object.keys(obj(compose.volumes ?? {}, 'volumes'));
    for (const name of Object.keys(services)) {
      for (const { source } of volumes(name)) {
        if (source.startsWith('.')) expect(existsSync(path.join(DEPLOY, source)), `${name}: ${source}`).toBe(true);
        else expect(declared, `${name}: volume ${source}`).toContain(source);
      }
    }
  });

  it('gives the gateways only variables the gateway or config.yaml reads, and every one config.yaml needs', () => {
    for (const name of gatewayNames) {
      const env = gatewayEnv(name);
      for (const key of Object.keys(env)) expect(help.envNames.has(key) || configRefs.has(key), `${name}: ${key}`).toBe(true);
      for (const ref of configRefs) expect(Object.keys(env), `${name} lacks ${ref}`).toContain(ref);
      // The mounted config is the one the image runs.
      expect(hostPathOf(name, imageConfigPath ?? '')).toBe(path.join(DEPLOY, 'config.yaml'));
    }
  });

  it('loads config.yaml with the gateway loader, reaching the Postgres and Redis services', () => {
    for (const name of gatewayNames) {
      const env = gatewayEnv(name);
      const { config, unimplemented } = parseConfigText(configText, 'deploy/config.yaml', { ...env });
      expect(unimplemented).toEqual([]);
      expect(config.model_list.length).toBeGreaterThan(0);
      // No credentials needed: every deployment is the built-in mock.
      for (const entry of config.model_list) expect(entry.litellm_params.model).toMatch(/^mock\//);
      const db = new URL(str(config.general_settings.database_url ?? env.DATABASE_URL, 'database_url'));
      expect(db.hostname).toBe('postgres');
      const pg = composeEnvironment(at(services, 'postgres.environment'), 'postgres.environment');
      expect([decodeURIComponent(db.username), decodeURIComponent(db.password), db.pathname.slice(1)]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB]);
      const redis = resolveRedis(config, { ...env });
      expect(redis).toBeDefined();
      const redisUrl = new URL(redis?.url ?? '');
      expect(redisUrl.hostname).toBe('redis');
      const redisCommand = arr(at(services, 'redis.command'), 'redis.command').map((w) => str(w, 'redis.command'));
      expect(redisCommand[redisCommand.indexOf('--requirepass') + 1]).toBe(decodeURIComponent(redisUrl.password));
      // Compose kills after stop_grace_period: the gateway's drain must fit inside it.
      expect(Number.parseInt(str(at(services, `${name}.stop_grace_period`), 'stop_grace_period'), 10)).toBeGreaterThan(config.general_settings.graceful_shutdown_seconds ?? 30);
    }
  });

  it('balances one published port over both gateways on the port they listen on', () => {
    const nginx = readText(path.relative(REPO, hostPathOf('lb', '/etc/nginx/nginx.conf')));
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstreams.sort()).toEqual(gatewayNames.map((n) => `${n}:${listenPort(gatewayEnv(n))}`).sort());
    expect(nginx).toMatch(/proxy_buffering\s+off/);
    const listen = /^\s*listen\s+(\d+)/m.exec(nginx)?.[1];
    const published = arr(at(services, 'lb.ports'), 'lb.ports').map((p) => str(p, 'lb.ports').split(':').at(-1));
    expect(published).toContain(listen);
    expect(at(services, 'lb.depends_on.tollgate-1.condition')).toBe('service_healthy');
  });

  it('has Prometheus scrape every gateway on its metrics port, with the rule files it names present', () => {
    const command = arr(at(services, 'prometheus.command'), 'prometheus.command').map((w) => str(w, 'prometheus.command'));
    const configFile = str(command.find((w) => w.startsWith('--config.file='))?.split('=')[1], '--config.file');
    const hostConfig = hostPathOf('prometheus', configFile);
    expect(hostConfig).toBe(path.join(DEPLOY, 'prometheus/prometheus.yml'));
    const prom = obj(readYaml(path.relative(REPO, hostConfig)), 'prometheus.yml');
    const rules = arr(prom.rule_files, 'rule_files').map((r) => str(r, 'rule_files'));
    expect(rules).toContain('alerts.yml');
    for (const rule of rules) expect(existsSync(path.join(path.dirname(hostConfig), rule)), `rule file ${rule}`).toBe(true);
    const job = arr(prom.scrape_configs, 'scrape_configs').map((j) => obj(j, 'job')).find((j) => j.job_name === 'tollgate');
    const targets = arr(job?.static_configs, 'static_configs').flatMap((c) => arr(obj(c, 'static_config').targets, 'targets').map((t) => str(t, 'target')));
    expect(targets.sort()).toEqual(gatewayNames.map((n) => `${n}:${str(gatewayEnv(n).TOLLGATE_METRICS_PORT, 'TOLLGATE_METRICS_PORT')}`).sort());
  });

  it('provisions Grafana with the Prometheus service and the dashboards folder', () => {
    const provisioning = hostPathOf('grafana', '/etc/grafana/provisioning');
    expect(statSync(provisioning).isDirectory()).toBe(true);
    const datasources = arr(obj(readYaml(path.relative(REPO, path.join(provisioning, 'datasources/prometheus.yml'))), 'datasources').datasources, 'datasources');
    const url = new URL(str(at(datasources, '0.url'), 'url'));
    const promPorts = arr(at(services, 'prometheus.ports'), 'prometheus.ports').map((p) => str(p, 'ports').split(':').at(-1));
    expect([url.hostname, promPorts]).toEqual(['prometheus', [url.port]]);
    const providerFiles = readdirSync(path.join(provisioning, 'dashboards')).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
    expect(providerFiles.length).toBeGreaterThan(0);
    for (const file of providerFiles) {
      const providers = arr(obj(readYaml(path.relative(REPO, path.join(provisioning, 'dashboards', file))), file).providers, 'providers');
      for (const provider of providers) {
        const folder = hostPathOf('grafana', str(at(provider, 'options.path'), 'options.path'));
        expect(folder).toBe(path.join(DEPLOY, 'grafana/dashboards'));
        expect(statSync(folder).isDirectory()).toBe(true);
      }
    }
    // Dashboards pick their data source by a variable whose default must name the provisioned one.
    const source = obj(datasources[0], 'datasource');
    for (const file of readdirSync(path.join(DEPLOY, 'grafana/dashboards')).filter((f) => f.endsWith('.json'))) {
      const dashboard = obj(JSON.parse(readText(`deploy/grafana/dashboards/${file}`)) as unknown, file);
      const variables = arr(obj(dashboard.templating ?? { list: [] }, 'templating').list ?? [], 'templating.list').map((v) => obj(v, 'variable'));
      for (const variable of variables.filter((v) => v.type === 'datasource')) {
        const current = obj(variable.current ?? {}, 'current');
        if (current.value !== undefined) expect([source.uid, source.name], `${file}: ${String(variable.name)}`).toContain(current.value);
      }
    }
  });
});

describe('deploy/kubernetes', () => {
  const dir = path.join(DEPLOY, 'kubernetes');
  const manifests = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const docs = manifests.flatMap((f) => readYamlDocuments(`deploy/kubernetes/${f}`).map((d) => ({ file: f, doc: obj(d, f) })));
  const ofKind = (kind: string): Obj => {
    const found = docs.filter((d) => d.doc.kind === kind);
    expect(found.length, kind).toBe(1);
    return found[0]?.doc ?? {};
  };
  const deployment = ofKind('Deployment');
  const podLabels = obj(at(deployment, 'spec.template.metadata.labels'), 'pod labels');
  const container = obj(at(deployment, 'spec.template.spec.containers.0'), 'container');
  const ports = arr(container.ports, 'ports').map((p) => obj(p, 'port'));
  const portNumber = (name: unknown): number => Number(ports.find((p) => p.name === name || p.containerPort === name)?.containerPort);
  const env = arr(container.env, 'env').map((e) => obj(e, 'env'));
  const secret = ofKind('Secret');
  const secretData = obj(secret.stringData, 'stringData');
  const plainEnv = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [str(e.name, 'name'), str(e.value, 'value')]));

  it('parses into well-formed objects, and kustomization lists files that exist', () => {
    for (const { file, doc } of docs) {
      expect(typeof doc.apiVersion, file).toBe('string');
      expect(typeof doc.kind, file).toBe('string');
      expect(typeof at(doc, 'metadata.name'), file).toBe('string');
    }
    for (const kind of ['ConfigMap', 'Secret', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) ofKind(kind);
    const resources = arr(obj(readYaml('deploy/kubernetes/kustomization.yaml'), 'kustomization').resources, 'resources');
    for (const r of resources) expect(existsSync(path.join(dir, str(r, 'resource'))), str(r, 'resource')).toBe(true);
  });

  it('probes readiness and liveness on the paths --help lists, at the port the container listens on', () => {
    const listen = listenPort(plainEnv);
    expect(listen).toBe(help.defaultPort);
    expect(at(container, 'readinessProbe.httpGet.path')).toBe(readiness);
    expect(at(container, 'livenessProbe.httpGet.path')).toBe(liveliness);
    expect(portNumber(at(container, 'readinessProbe.httpGet.port'))).toBe(listen);
    expect(portNumber(at(container, 'livenessProbe.httpGet.port'))).toBe(listen);
    // The metrics listener is where the scrape annotation points.
    const annotations = obj(at(deployment, 'spec.template.metadata.annotations'), 'annotations');
    expect(portNumber('metrics')).toBe(Number(plainEnv.TOLLGATE_METRICS_PORT));
    expect(Number(annotations['prometheus.io/port'])).toBe(portNumber('metrics'));
    for (const key of ['requests.cpu', 'requests.memory', 'limits.memory']) expect(at(container, `resources.${key}`)).toBeDefined();
  });

  it('sets only variables the gateway or config.yaml reads, every one it needs, from keys the Secret has', () => {
    for (const e of env) expect(help.envNames.has(str(e.name, 'name')) || configRefs.has(str(e.name, 'name')), str(e.name, 'name')).toBe(true);
    for (const ref of configRefs) expect(env.map((e) => e.name)).toContain(ref);
    const fromSecret = env.filter((e) => e.valueFrom !== undefined).map((e) => obj(at(e, 'valueFrom.secretKeyRef'), 'secretKeyRef'));
    for (const ref of fromSecret) {
      expect(ref.name).toBe(at(secret, 'metadata.name'));
      expect(Object.keys(secretData)).toContain(ref.key);
    }
  });

  it('mounts a ConfigMap holding deploy/config.yaml where the container reads its config, and it loads', () => {
    const args = arr(container.args, 'args').map((a) => str(a, 'args'));
    const configPath = args[args.indexOf('--config') + 1] ?? '';
    expect(configPath).toBe(imageConfigPath);
    const mount = arr(container.volumeMounts, 'volumeMounts').map((m) => obj(m, 'mount')).find((m) => m.mountPath === path.dirname(configPath));
    const volume = arr(at(deployment, 'spec.template.spec.volumes'), 'volumes').map((v) => obj(v, 'volume')).find((v) => v.name === mount?.name);
    const configMap = ofKind('ConfigMap');
    expect(at(volume, 'configMap.name')).toBe(at(configMap, 'metadata.name'));
    const text = str(obj(configMap.data, 'data')[path.basename(configPath)], 'ConfigMap data');
    expect(text).toBe(configText);
    const envForConfig = { ...plainEnv, ...Object.fromEntries(Object.entries(secretData).map(([k, v]) => [k, str(v, k)])) };
    expect(parseConfigText(text, 'configmap config.yaml', envForConfig).config.model_list.length).toBeGreaterThan(0);
    // The kubelet kills after the grace period: the gateway's drain must fit inside it.
    const grace = parseConfigText(text, 'configmap', envForConfig).config.general_settings.graceful_shutdown_seconds ?? 30;
    expect(Number(at(deployment, 'spec.template.spec.terminationGracePeriodSeconds'))).toBeGreaterThan(grace);
  });

  it('selects the Deployment pods from the Service, PodDisruptionBudget and HPA', () => {
    const service = ofKind('Service');
    expect(obj(at(service, 'spec.selector'), 'selector')).toEqual(podLabels);
    for (const p of arr(at(service, 'spec.ports'), 'service ports')) expect(portNumber(at(p, 'targetPort')), JSON.stringify(p)).toBeGreaterThan(0);
    expect(obj(at(ofKind('PodDisruptionBudget'), 'spec.selector.matchLabels'), 'pdb')).toEqual(podLabels);
    expect(at(ofKind('HorizontalPodAutoscaler'), 'spec.scaleTargetRef.name')).toBe(at(deployment, 'metadata.name'));
  });
});
