import { describe, expect, it } from 'vitest';
import { chooseBindAddress } from '../../src/cli/bind-address.js';

describe('chooseBindAddress', () => {
  it('an open gateway (no master key) binds loopback and says why', () => {
    const choice = chooseBindAddress(undefined, {}, false);
    expect(choice.host).toBe('127.0.0.1');
    expect(choice.reason).toMatch(/no master key/);
  });
  it('with a master key it binds every interface, without a reason line', () => {
    expect(chooseBindAddress(undefined, {}, true)).toEqual({ host: '0.0.0.0' });
  });
  it('--host wins over HOST, which wins over TOLLGATE_HOST; a named address needs no reason', () => {
    expect(chooseBindAddress('10.0.0.1', { HOST: '10.0.0.2', TOLLGATE_HOST: '10.0.0.3' }, false)).toEqual({ host: '10.0.0.1' });
    expect(chooseBindAddress(undefined, { HOST: '10.0.0.2', TOLLGATE_HOST: '10.0.0.3' }, false)).toEqual({ host: '10.0.0.2' });
    expect(chooseBindAddress(undefined, { TOLLGATE_HOST: '0.0.0.0' }, false)).toEqual({ host: '0.0.0.0' });
  });
  it('an empty HOST is no choice', () => {
    expect(chooseBindAddress(undefined, { HOST: '' }, true).host).toBe('0.0.0.0');
  });
});
