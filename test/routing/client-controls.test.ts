/** Client router options and LiteLLM test hooks: parsing, precedence, and what the router does with them. */
import { describe, expect, it } from 'vitest';
import { batchModels, pythonFloat, takeClientControls } from '../../src/routing/client-controls.js';
import { ModelTable } from '../../src/routing/router.js';
import { mockPlanFor, takeTestHooks } from '../../src/routing/test-hooks.js';
import { dep, harness, newLog, scripted } from './helpers.js';

describe('takeTestHooks / mockPlanFor', () => {
  it('takes every hook out of the body and reads them', () => {
    const body: Record<string, unknown> = { model: 'm', mock_response: 'hi', mock_testing_fallbacks: true, mock_testing_rate_limit_error: false, mock_delay: 1 };
    expect(takeTestHooks(body)).toEqual({ mockResponse: 'hi', mockFailure: 'fallbacks' });
    expect(body).toEqual({ model: 'm' });
    expect(takeTestHooks({ model: 'm' })).toBeUndefined();
  });

  it('the request mock wins over the deployment\'s; the mock provider keeps its own mock_response', () => {
    const canned = dep('c', 'g', { mock_response: 'from config' });
    expect(mockPlanFor(canned, undefined)).toEqual({ kind: 'answer', response: 'from config' });
    expect(mockPlanFor(canned, { mockResponse: 'from request' })).toEqual({ kind: 'answer', response: 'from request' });
    expect(mockPlanFor(dep('m', 'g', { mock_response: 'x' }, { provider: 'mock' }), undefined)).toBeUndefined();
    expect(mockPlanFor(dep('t', 'g', { mock_timeout: true }), { mockResponse: 'hi' })).toEqual({ kind: 'timeout' });
    expect(mockPlanFor(dep('p', 'g'), undefined)).toBeUndefined();
  });

  it('LiteLLM\'s error strings become their errors', () => {
    const plan = mockPlanFor(dep('p', 'g'), { mockResponse: 'litellm.ContextWindowExceededError' });
    expect(plan?.kind).toBe('error');
    expect(plan?.kind === 'error' ? [plan.error.status, plan.error.code] : []).toEqual([400, 'context_window_exceeded']);
    const rate = mockPlanFor(dep('p', 'g'), { mockResponse: 'litellm.RateLimitError' });
    expect(rate?.kind === 'error' ? rate.error.status : 0).toBe(429);
  });
});

describe('takeClientControls', () => {
  it('reads the three fallback shapes', () => {
    expect(takeClientControls({ fallbacks: ['b', 'c'] }, {}).controls.fallbacks).toEqual(['b', 'c']);
    const rules = takeClientControls({ fallbacks: [{ a: ['b'] }, 'c'] }, {});
    expect(rules.controls.fallbackRules).toEqual([{ key: 'a', targets: ['b'] }, { key: '*', targets: ['c'] }]);
    expect(rules.fallbackModels).toEqual(['b', 'c']);
    const custom = takeClientControls({ fallbacks: [{ model: 'b', messages: [{ role: 'user', content: 'x' }] }] }, {});
    expect(custom.controls.fallbacks).toEqual(['b']);
    expect(custom.overrides.get('b')).toEqual({ messages: [{ role: 'user', content: 'x' }] });
  });

  it('x-litellm-timeout in seconds', () => {
    expect(takeClientControls({}, { 'x-litellm-timeout': '0.5' }).controls.timeoutMs).toBe(500);
    expect(() => takeClientControls({}, { 'x-litellm-timeout': '-1' })).toThrow(/x-litellm-timeout/);
  });
});

describe('batchModels and pythonFloat', () => {
  it('splits a comma list even when a * catch-all exists, not when a group has that exact name', () => {
    const table = new ModelTable([dep('w', '*'), dep('x', 'a,b')]);
    expect(batchModels('m1, m2', table)).toEqual(['m1', 'm2']);
    expect(batchModels('a,b', table)).toBeUndefined();
    expect(batchModels('single', table)).toBeUndefined();
  });

  it('prints seconds as Python floats', () => {
    expect([pythonFloat(1), pythonFloat(600), pythonFloat(0.001), pythonFloat(2.5)]).toEqual(['1.0', '600.0', '0.001', '2.5']);
  });
});

describe('the router with mock controls', () => {
  it('mock_testing_context_fallbacks goes to context_window_fallbacks without calling the group', async () => {
    const h = harness([dep('a1', 'a'), dep('b1', 'b')], { contextWindowFallbacks: [{ key: 'a', targets: ['b'] }] });
    const s = scripted({ a1: ['ok'], b1: ['ok'] });
    const log = newLog();
    const routed = await h.router.route({ model: 'a', stream: false, log, signal: new AbortController().signal, controls: { mockFailure: 'context_window' }, attempt: s.attempt });
    expect(routed.target.deployment.id).toBe('b1');
    expect(s.calls).toEqual(['b1']);
    expect(log.fallbacks).toBe(1);
  });

  it('mock_testing_rate_limit_error counts one retry and calls the deployment once', async () => {
    const h = harness([dep('a1', 'a')], { numRetries: 2 });
    const s = scripted({ a1: ['ok'] });
    const log = newLog();
    await h.router.route({ model: 'a', stream: false, log, signal: new AbortController().signal, controls: { mockRateLimit: true }, attempt: s.attempt });
    expect(s.calls).toEqual(['a1']);
    expect(log.retries).toBe(1);
    expect(h.cooldowns).toEqual([]);
  });
});
