import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { buildDeployments } from '../../src/config/deployments.js';
import { effectiveApiBase } from '../../src/core/deployment.js';

const build = (yaml: string, env: NodeJS.ProcessEnv = {}) => buildDeployments(parseConfigText(yaml, 't.yaml', env).config, env).deployments;

describe('the api_base a deployment reports', () => {
  it('is the configured one when set, else the endpoint the provider actually calls', () => {
    const [openai, anthropic, bedrock, bedrockEnv, vertex, vertexGlobal, custom] = build(
      `
model_list:
  - { model_name: a, litellm_params: { model: openai/gpt-4o } }
  - { model_name: b, litellm_params: { model: anthropic/claude-sonnet-4-5 } }
  - { model_name: c, litellm_params: { model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0, aws_region_name: eu-west-1 } }
  - { model_name: d, litellm_params: { model: bedrock/converse/amazon.nova-micro-v1:0 } }
  - { model_name: e, litellm_params: { model: vertex_ai/gemini-2.5-flash, vertex_location: us-east5 } }
  - { model_name: f, litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, vertex_location: global } }
  - { model_name: g, litellm_params: { model: openai/llama, api_base: "http://vllm:8000/v1?x=1" } }
`,
      { AWS_REGION: 'ap-south-1' },
    );
    expect([openai, anthropic, bedrock, bedrockEnv, vertex, vertexGlobal, custom].map((d) => d && effectiveApiBase(d))).toEqual([
      'https://api.openai.com/v1',
      'https://api.anthropic.com',
      'https://bedrock-runtime.eu-west-1.amazonaws.com',
      'https://bedrock-runtime.ap-south-1.amazonaws.com',
      'https://us-east5-aiplatform.googleapis.com',
      'https://aiplatform.googleapis.com',
      'http://vllm:8000/v1?x=1',
    ]);
    // The configured base is what adapters use; the default is only reported.
    expect(openai?.apiBase).toBeUndefined();
  });
});
