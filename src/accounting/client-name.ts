/**
 * The client program of a call, from its User-Agent, for the session report.
 *
 * The rule: the name of the User-Agent's first product token (RFC 9110 `product = token
 * ["/" product-version]`), lowercased. Coding agents and SDKs put themselves first:
 *
 * | User-Agent                                   | client          |
 * |----------------------------------------------|-----------------|
 * | `claude-cli/2.0.14 (external, cli)`          | `claude-cli`    |
 * | `codex_exec/0.171.0 (Mac OS 15.5.0; arm64)`  | `codex_exec`    |
 * | `codex_cli_rs/0.171.0 (…) iTerm.app/3.5.14`  | `codex_cli_rs`  |
 * | `OpenAI/JS 6.1.0`, `OpenAI/Python 1.99.0`    | `openai`        |
 * | `Anthropic/JS 0.60.0`, `Anthropic/Python …`  | `anthropic`     |
 * | `curl/8.5.0`                                 | `curl`          |
 * | `litellm/1.74.0`                             | `litellm`       |
 *
 * Lowercased so one program is one name whatever its casing (the Stainless SDKs write `OpenAI`,
 * `Anthropic`); the SDK's language (`JS`, `Python`, in the version's place) is not part of it. No
 * User-Agent, or one that does not start with a token (`(compatible)`), has no client name.
 */

/** RFC 9110 tchar: the characters a product name may have. */
const PRODUCT_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
/** Longer names are cut: the name is a report label, not the whole header. */
const MAX_NAME_LENGTH = 64;

export function clientNameOf(userAgent: string | undefined | null): string | undefined {
  if (userAgent === undefined || userAgent === null) return undefined;
  const name = PRODUCT_NAME.exec(userAgent.trimStart())?.[0];
  return name === undefined ? undefined : name.slice(0, MAX_NAME_LENGTH).toLowerCase();
}
