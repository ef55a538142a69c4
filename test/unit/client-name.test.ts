/** clientNameOf: the first product token's name of a User-Agent, lowercased (src/accounting/client-name.ts). */
import { describe, expect, it } from 'vitest';
import { clientNameOf } from '../../src/accounting/client-name.js';

describe('clientNameOf', () => {
  it.each([
    // Claude Code (CLI and the Agent SDK).
    ['claude-cli/2.0.14 (external, cli)', 'claude-cli'],
    ['claude-cli/2.0.31 (external, sdk-ts)', 'claude-cli'],
    // Codex: `codex exec` and the interactive CLI.
    ['codex_exec/0.171.0 (Ubuntu 24.4.0; x86_64) xterm-256color', 'codex_exec'],
    ['codex_cli_rs/0.171.0 (Mac OS 15.5.0; arm64) iTerm.app/3.5.14', 'codex_cli_rs'],
    // The Stainless SDKs put the language where the version goes; the client is the SDK.
    ['OpenAI/JS 6.1.0', 'openai'],
    ['OpenAI/Python 1.99.9', 'openai'],
    ['Anthropic/JS 0.60.0', 'anthropic'],
    ['Anthropic/Python 0.64.0', 'anthropic'],
    ['curl/8.5.0', 'curl'],
    ['litellm/1.74.9', 'litellm'],
    // A product without a version, and leading spaces.
    ['python-requests', 'python-requests'],
    ['  Go-http-client/1.1', 'go-http-client'],
  ])('%s → %s', (userAgent, name) => {
    expect(clientNameOf(userAgent)).toBe(name);
  });

  it('no User-Agent, or one that does not start with a product token, has no name', () => {
    expect(clientNameOf(undefined)).toBeUndefined();
    expect(clientNameOf(null)).toBeUndefined();
    expect(clientNameOf('')).toBeUndefined();
    expect(clientNameOf('   ')).toBeUndefined();
    expect(clientNameOf('(compatible; bot)')).toBeUndefined();
    expect(clientNameOf('/1.0')).toBeUndefined();
  });

  it('a very long name is cut to 64 characters', () => {
    expect(clientNameOf(`${'x'.repeat(100)}/1`)).toBe('x'.repeat(64));
  });
});
