// Errors of the access-conditions layer: one base class, one subclass per kind of failure, each a sentence a
// user understands. Three kinds matter to a node: a set that is malformed (refuse it at grant and delivery), a
// set that cannot be evaluated now (refuse the request, say whether retrying can help) and a requester proof
// that does not hold (refuse the request, say why).

/** Base class of every error raised by src/conditions. */
export class ConditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A condition set that is not valid lingo: `path` names the bad field (`$.condition.operands[1].method`). */
export class ConditionFormatError extends ConditionError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`invalid conditions at ${path}: ${reason}`);
  }
}

/** Why a condition could not be evaluated. */
export type EvaluationFailure =
  /** The node's RPC did not answer or answered with an error: retry later. */
  | "RPC_FAILURE"
  /** The evaluation ran past its deadline: retry later. */
  | "DEADLINE"
  /** The condition calls an address without code. */
  | "NOT_A_CONTRACT"
  /** The call reverted. */
  | "REVERTED"
  /** The call returned bytes that do not decode as the ABI says. */
  | "UNDECODABLE"
  /** The condition uses a context variable (`:userAddress`) the request did not prove. */
  | "MISSING_CONTEXT"
  /** The condition is for another chain than the one the node reads. */
  | "WRONG_CHAIN";

/** Failures a retry may cure (the node answers 503 with Retry-After); the others stay until the set changes. */
export const RETRYABLE_FAILURES: ReadonlySet<EvaluationFailure> = new Set(["RPC_FAILURE", "DEADLINE"]);

/**
 * A condition that could not be evaluated: never a silent allow and never "not met" either. `path` names the
 * condition, `failure` the cause; `retryable` tells a node whether to answer 503 (try again) or refuse.
 */
export class ConditionEvaluationError extends ConditionError {
  readonly retryable: boolean;
  constructor(
    readonly failure: EvaluationFailure,
    readonly path: string,
    message: string,
  ) {
    super(`cannot evaluate the condition at ${path}: ${message}`);
    this.retryable = RETRYABLE_FAILURES.has(failure);
  }
}

/** Why a signed condition set does not bind the policy. */
export type BindingFailure = "BAD_SIGNATURE" | "NOT_POLICY_OWNER" | "HASH_MISMATCH" | "OTHER_POLICY" | "STALE_VERSION";

/** A signed condition set that is not the policy owner's current one. */
export class ConditionBindingError extends ConditionError {
  constructor(
    readonly failure: BindingFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Why a requester proof was refused. */
export type RequesterProofFailure =
  | "MALFORMED"
  | "EXPIRED"
  | "NOT_YET_VALID"
  | "TOO_LONG_LIVED"
  | "REPLAYED"
  | "OTHER_DOMAIN"
  | "WRONG_CHAIN"
  | "BAD_SIGNATURE"
  | "SIGNED_BY_OTHER"
  /** The replay cache is full of unexpired nonces: the node cannot tell a replay, so it refuses (retry later). */
  | "BUSY";

/** A proof of the requester's Ethereum address that does not hold; `failure` says why. */
export class RequesterProofError extends ConditionError {
  constructor(
    readonly failure: RequesterProofFailure,
    message: string,
  ) {
    super(`requester proof refused: ${message}`);
  }
}
