/**
 * AWS credentials for SigV4, from a deployment's LiteLLM params: static keys, a shared-config
 * profile, an assumed role (optionally by web identity), or else the SDK's standard chain (env,
 * shared config/SSO, web identity, ECS, instance metadata). The SDK providers do the fetching; the
 * memo here makes every call after the first answer from memory and refreshes temporary credentials
 * ahead of expiry in the background, so no request waits on a disk read or a metadata round trip.
 */
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials, fromWebToken } from '@aws-sdk/credential-providers';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

export type CredentialSource = () => Promise<AwsCredentials>;

/** Refresh this long before expiry without making the caller wait. */
const REFRESH_AHEAD_MS = 5 * 60_000;
/** Closer than this to expiry the old credentials are no longer used: the caller waits for new ones. */
const MUST_REFRESH_MS = 60_000;

function param(params: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** True when the deployment names AWS credentials itself (then an ambient Bedrock API key is not used). */
export function hasExplicitAwsCredentials(params: Readonly<Record<string, unknown>>): boolean {
  return ['aws_access_key_id', 'aws_profile_name', 'aws_role_name', 'aws_web_identity_token'].some((name) => param(params, name) !== undefined);
}

export function credentialSourceFor(params: Readonly<Record<string, unknown>>, region: string): CredentialSource {
  const accessKeyId = param(params, 'aws_access_key_id');
  const secretAccessKey = param(params, 'aws_secret_access_key');
  const profile = param(params, 'aws_profile_name');
  const roleArn = param(params, 'aws_role_name');
  const roleSessionName = param(params, 'aws_session_name') ?? 'tollgate-bedrock';
  const webIdentityToken = param(params, 'aws_web_identity_token');

  let base: CredentialSource;
  let memoized = false;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const fixed: AwsCredentials = { accessKeyId, secretAccessKey, sessionToken: param(params, 'aws_session_token') };
    base = () => Promise.resolve(fixed);
    memoized = true;
  } else if (profile !== undefined) {
    base = fromIni({ profile });
  } else {
    base = fromNodeProviderChain();
  }

  if (roleArn !== undefined && webIdentityToken !== undefined) {
    return memoizeCredentials(fromWebToken({ roleArn, webIdentityToken, roleSessionName, clientConfig: { region } }));
  }
  if (roleArn !== undefined) {
    return memoizeCredentials(
      fromTemporaryCredentials({ params: { RoleArn: roleArn, RoleSessionName: roleSessionName }, masterCredentials: base, clientConfig: { region } }),
    );
  }
  return memoized ? base : memoizeCredentials(base);
}

/**
 * Serve credentials from memory: the first call waits for the source, later calls never do unless
 * the credentials are about to expire. Concurrent refreshes share one request to the source.
 */
export function memoizeCredentials(source: CredentialSource, now: () => number = Date.now): CredentialSource {
  let current: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  const refresh = (): Promise<AwsCredentials> => {
    inflight ??= source()
      .then((credentials) => {
        current = credentials;
        return credentials;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  return () => {
    if (current === undefined) return refresh();
    const expires = current.expiration?.getTime();
    if (expires === undefined) return Promise.resolve(current);
    const left = expires - now();
    if (left <= MUST_REFRESH_MS) return refresh();
    // A failed background refresh is retried by the next call; the current credentials still work.
    if (left <= REFRESH_AHEAD_MS) void refresh().catch(() => undefined);
    return Promise.resolve(current);
  };
}
