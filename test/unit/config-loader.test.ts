/**
 * config.yaml loading: os.environ/ references, environment_variables, validation errors that name
 * the path, and the list of keys that are accepted but not acted on.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfigText } from '../../src/config/loader.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const FILE = 'test.yaml';

describe('parseConfigText: os.environ/ references', () => {
  const yaml = `
model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY }
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_KEY
      api_base: os.environ/ANTHROPIC_BASE
`;

  it('resolves every reference from the environment', () => {
    const env = { OPENAI_KEY: 'sk-o', ANTHROPIC_KEY: 'sk-a', ANTHROPIC_BASE: 'https://anthropic.internal' };
    const { config } = parseConfigText(yaml, FILE, env);
    expect(config.model_list[0]?.litellm_params.api_key).toBe('sk-o');
    expect(config.model_list[1]?.litellm_params).toMatchObject({ api_key: 'sk-a', api_base: 'https://anthropic.internal' });
  });

  it('a missing variable is an error naming the file, the path and the variable', () => {
    const err = configError(() => parseConfigText(yaml, FILE, { OPENAI_KEY: 'sk-o', ANTHROPIC_BASE: 'https://x.test' }));
    expect(err.file).toBe(FILE);
    expect(err.path).toBe('model_list[1].litellm_params.api_key');
    expect(err.reason).toContain('ANTHROPIC_KEY');
    expect(err.message).toBe(`${FILE}: model_list[1].litellm_params.api_key: environment variable ANTHROPIC_KEY is not set (referenced as "os.environ/ANTHROPIC_KEY")`);
  });

  it('environment_variables are applied first, without overriding the real environment', () => {
    const env: NodeJS.ProcessEnv = { KEEP: 'from-env' };
    const { config } = parseConfigText(
      `
environment_variables: { MY_KEY: abc, KEEP: from-file, PORT: 4000 }
model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_key: os.environ/MY_KEY, api_version: os.environ/KEEP }
`,
      FILE,
      env,
    );
    expect(config.model_list[0]?.litellm_params).toMatchObject({ api_key: 'abc', api_version: 'from-env' });
    expect(env).toMatchObject({ MY_KEY: 'abc', KEEP: 'from-env', PORT: '4000' });
  });
});

describe('parseConfigText: validation errors name the path', () => {
  const cases: [string, string, string][] = [
    ['model missing', 'model_list:\n  - model_name: x\n    litellm_params: {}\n', 'model_list[0].litellm_params.model'],
    ['negative timeout', 'model_list:\n  - model_name: x\n    litellm_params: { model: openai/x, timeout: -1 }\n', 'model_list[0].litellm_params.timeout'],
    ['api_base not a URL', 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/a }\n  - model_name: b\n    litellm_params: { model: openai/b, api_base: "not a url" }\n', 'model_list[1].litellm_params.api_base'],
    ['model_name empty', 'model_list:\n  - model_name: ""\n    litellm_params: { model: openai/x }\n', 'model_list[0].model_name'],
    ['max_request_size_mb a string', 'general_settings: { max_request_size_mb: big }\n', 'general_settings.max_request_size_mb'],
    ['drop_params not boolean', 'litellm_settings: { drop_params: 3 }\n', 'litellm_settings.drop_params'],
    ['model_info.mode unknown', 'model_list:\n  - model_name: x\n    litellm_params: { model: openai/x }\n    model_info: { mode: telepathy }\n', 'model_list[0].model_info.mode'],
  ];
  for (const [what, yaml, path] of cases) {
    it(what, () => {
      const err = configError(() => parseConfigText(yaml, FILE, {}));
      expect(err.path).toBe(path);
      expect(err.message.startsWith(`${FILE}: ${path}: `)).toBe(true);
    });
  }

  it('says how many more problems there are', () => {
    const err = configError(() => parseConfigText('model_list:\n  - litellm_params: { model: 5 }\n', FILE, {}));
    expect(err.reason).toMatch(/\(and 1 more problem\(s\)\)$/);
  });

  it('YAML syntax errors and a non-mapping top level', () => {
    expect(configError(() => parseConfigText('model_list: [unclosed', FILE, {})).reason).toMatch(/^not valid YAML/);
    expect(configError(() => parseConfigText('- a\n- b\n', FILE, {})).reason).toBe('the top level must be a mapping');
  });

  it('an empty file is an empty configuration', () => {
    const { config, unimplemented } = parseConfigText('', FILE, {});
    expect(config.model_list).toEqual([]);
    expect(unimplemented).toEqual([]);
  });

  it('an unreadable file', async () => {
    await expect(loadConfigFile('/nonexistent/tollgate.yaml', {})).rejects.toThrow(/cannot read the file \(ENOENT\)/);
  });
});

describe('unimplemented keys', () => {
  it('lists keys Tollgate accepts but does not act on, once each, sorted', () => {
    const { unimplemented, config } = parseConfigText(
      `
model_list:
  - model_name: a
    litellm_params: { model: openai/a, custom_llm_provider: openai, rpm: 10 }
    model_info: { id: a1, access_groups: [beta] }
  - model_name: b
    litellm_params: { model: openai/b, custom_llm_provider: openai }
router_settings: { routing_strategy: usage-based-routing-v2, provider_budget_config: {}, timeout: 30 }
litellm_settings: { callbacks: [prometheus], drop_params: true }
general_settings: { master_key: sk-1, alerting: [slack] }
guardrails: []
`,
      FILE,
      {},
    );
    expect(unimplemented).toEqual([
      'general_settings.alerting',
      'guardrails',
      'model_list[].litellm_params.custom_llm_provider',
      'model_list[].model_info.access_groups',
      'router_settings.provider_budget_config',
    ]);
    // unknown keys are kept, not stripped
    expect((config.router_settings as Record<string, unknown>).provider_budget_config).toEqual({});
  });

  it('the shipped default config has none', async () => {
    const loaded = await loadConfigFile(join(import.meta.dirname, '..', '..', 'config', 'default.yaml'), {});
    expect(loaded.unimplemented).toEqual([]);
    expect(loaded.config.model_list.map((m) => m.model_name)).toContain('*');
  });
});
