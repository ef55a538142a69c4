/** What a route's call comes to once admitted and routed (or answered by the response cache). */
import type { JsonObject } from '../../core/json.js';
import type { Answer } from '../../routing/answer.js';
import type { AttemptTarget, Lease } from '../../routing/attempts.js';
import type { CapturedAnswer } from './response-cache.js';

/** A routed call up to its answer, for the pipeline to send. */
export interface RoutedCall {
  answer: Answer;
  /** The attempt that answered; none when the response cache did. */
  routed: { lease: Lease; target: AttemptTarget } | undefined;
  /** The body as sent (router options and test hooks taken out): stream encoders read it. */
  body: JsonObject;
  /** Keeps the complete answer in the response cache. */
  remember: ((answer: CapturedAnswer) => void) | undefined;
}

