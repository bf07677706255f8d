// The node's decision on one re-encryption request under a policy's conditions, in one call: the proof of the
// requester (when the set needs one), then the evaluation. The answer is either "serve" (with the proven
// address, if any) or a refusal carrying the HTTP status and code the node answers with, so the route's handler
// only has to send it. The mapping is the one docs/conditions.md sets out: a failed condition is 403
// CONDITION_NOT_MET naming it; a set that cannot be evaluated now is 503 CONDITION_UNAVAILABLE (retry); one
// that cannot be evaluated at all is 403 CONDITION_NOT_EVALUABLE; a missing or bad proof is 401.
import { ConditionEvaluationError, RequesterProofError } from "./errors";
import { requiredContext, USER_ADDRESS, type Condition, type ConditionExpression } from "./lingo";
import { describeCondition, evaluateConditions, type EvaluateOptions } from "./evaluate";
import { verifyRequester, type RequesterExpectation } from "./requester";
import type { ChainReader } from "./reader";

/** Seconds a client is told to wait when conditions cannot be evaluated now. */
export const CONDITION_RETRY_AFTER_SECONDS = 5;

export interface ConditionRefusal {
  statusCode: 401 | 403 | 503;
  code:
    | "REQUESTER_PROOF_REQUIRED"
    | "REQUESTER_PROOF_REFUSED"
    | "CONDITION_NOT_MET"
    | "CONDITION_NOT_EVALUABLE"
    | "CONDITION_UNAVAILABLE";
  /** One sentence for the requester. */
  error: string;
  /** The condition concerned, when one is: its path in the set and a one-line description. */
  condition?: { path: string; description: string };
  retryAfterSeconds?: number;
}

export type Authorization = { serve: true; requester?: string } | { serve: false; refusal: ConditionRefusal };

/** The innermost condition on `path` (`$.condition.operands[1].parameters[0]` → operand 1), described. */
function conditionAt(expression: ConditionExpression, path: string): { path: string; description: string } {
  let node: unknown = expression;
  let found: { path: string; condition: Condition } | undefined;
  let walked = "$";
  for (const [step, key, index] of path.matchAll(/\.(\w+)|\[(\d+)\]/g)) {
    node = (node as Record<string, unknown> | undefined)?.[key ?? Number(index)];
    walked += step;
    if (typeof node === "object" && node !== null && "conditionType" in node)
      found = { path: walked, condition: node as Condition };
  }
  return found ? { path: found.path, description: describeCondition(found.condition) } : { path, description: path };
}

/**
 * Decides a request under `conditions` (null: none). `proof` is what the request carried to prove its sender's
 * address (undefined: nothing); it is checked only when the set uses `:userAddress`, and consumed then.
 * Errors other than the typed ones of this layer (programming errors) are thrown.
 */
export async function authorizeRequest(params: {
  conditions: ConditionExpression | null;
  proof: unknown;
  expected: RequesterExpectation;
  reader: ChainReader;
  options?: EvaluateOptions;
}): Promise<Authorization> {
  const { conditions, proof, expected, reader } = params;
  if (conditions === null) return { serve: true };
  let requester: string | undefined;
  if (requiredContext(conditions).has(USER_ADDRESS)) {
    if (proof === undefined || proof === null)
      return refuse({
        statusCode: 401,
        code: "REQUESTER_PROOF_REQUIRED",
        error: "this policy's conditions are about the requester: sign in with Ethereum (EIP-4361) to this node",
      });
    try {
      requester = await verifyRequester(proof, expected);
    } catch (e) {
      if (!(e instanceof RequesterProofError)) throw e;
      return refuse(
        e.failure === "BUSY"
          ? {
              statusCode: 503,
              code: "REQUESTER_PROOF_REFUSED",
              error: e.message,
              retryAfterSeconds: CONDITION_RETRY_AFTER_SECONDS,
            }
          : { statusCode: 401, code: "REQUESTER_PROOF_REFUSED", error: e.message },
      );
    }
  }
  try {
    const result = await evaluateConditions(conditions, { userAddress: requester }, reader, params.options);
    if (result.allowed) return requester === undefined ? { serve: true } : { serve: true, requester };
    return refuse({
      statusCode: 403,
      code: "CONDITION_NOT_MET",
      error: `condition not met at ${result.failed.path}: ${result.failed.reason}`,
      condition: { path: result.failed.path, description: describeCondition(result.failed.condition) },
    });
  } catch (e) {
    if (!(e instanceof ConditionEvaluationError)) throw e;
    return refuse(
      e.retryable
        ? {
            statusCode: 503,
            code: "CONDITION_UNAVAILABLE",
            error: `${e.message}; retry later`,
            condition: conditionAt(conditions, e.path),
            retryAfterSeconds: CONDITION_RETRY_AFTER_SECONDS,
          }
        : {
            statusCode: 403,
            code: "CONDITION_NOT_EVALUABLE",
            error: e.message,
            condition: conditionAt(conditions, e.path),
          },
    );
  }
}

const refuse = (refusal: ConditionRefusal): Authorization => ({ serve: false, refusal });
