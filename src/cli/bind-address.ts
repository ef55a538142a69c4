/**
 * Which address `tollgate serve` binds, and why. An open gateway (no master key) holds real
 * provider credentials: on every interface it would be an open proxy for anyone on the network,
 * so without a master key it binds loopback unless the operator names an address.
 */

export interface BindChoice {
  host: string;
  /** Said on the startup line when the choice was made for the operator (not asked for). */
  reason?: string;
}

export function chooseBindAddress(flag: string | undefined, env: NodeJS.ProcessEnv, masterKeyConfigured: boolean): BindChoice {
  const named = nonEmpty(flag) ?? nonEmpty(env.HOST) ?? nonEmpty(env.TOLLGATE_HOST);
  if (named !== undefined) return { host: named };
  if (masterKeyConfigured) return { host: '0.0.0.0' };
  return {
    host: '127.0.0.1',
    reason: 'no master key is configured, so only this machine can reach the gateway; set a master key or pass --host 0.0.0.0 to listen on every interface',
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
