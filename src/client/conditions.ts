// What `kms conditions` shows: a grant's access conditions checked and evaluated now as a node would — the set
// against the policy's owner and its on-chain commitment, then each time and contract condition at the latest
// block (for a requester address given), then the set as a whole. Runtime-neutral: the chain is read through
// the PolicyManager contract and a ChainReader.
import type { PolicyManager } from "../../typechain-types";
import { conditionsOf, readPolicy, type ConditionsCommitment } from "../policy";
import {
  checkConditionSet,
  ConditionError,
  ConditionEvaluationError,
  describeCondition,
  evaluateConditions,
  type ChainReader,
  type Condition,
  type ConditionExpression,
  type SignedConditionSet,
} from "../conditions";
import type { PolicyGrant } from "./grant";

/** One time or contract condition of the set and how it stands now. */
export interface ConditionVerdict {
  path: string;
  description: string;
  verdict: "met" | "not met" | "cannot evaluate";
  /** Why it is not met or cannot be evaluated. */
  reason?: string;
}

/** A grant's conditions as a node would judge them now. */
export interface ConditionsInspection {
  policyId: string;
  committed: ConditionsCommitment;
  /** The set the grant carries (undefined: none). */
  set?: SignedConditionSet;
  /** Why a node would refuse the grant's set at delivery (not the owner's, not the committed one); undefined: binds. */
  bindingError?: string;
  conditions: ConditionVerdict[];
  /** A node's decision for the requester now: serve, or the refusal in its words. */
  decision: string;
}

/** Each time and contract condition of `expression` with its JSON path, in order. */
function leaves(condition: Condition, path: string): { path: string; condition: Condition }[] {
  if (condition.conditionType !== "compound") return [{ path, condition }];
  return condition.operands.flatMap((c, i) => leaves(c, `${path}.operands[${i}]`));
}

/**
 * Checks and evaluates the conditions of `grant` now: `requester` is the address `:userAddress` stands for
 * (omitted: those conditions cannot be evaluated, as for a request without a proof).
 */
export async function inspectConditions(
  pm: PolicyManager,
  grant: PolicyGrant,
  reader: ChainReader,
  requester?: string,
): Promise<ConditionsInspection> {
  const [committed, history] = await Promise.all([conditionsOf(pm, grant.policyId), readPolicy(pm, grant.policyId)]);
  const inspection: ConditionsInspection = {
    policyId: history.policyId,
    committed,
    set: grant.conditions,
    conditions: [],
    decision: "",
  };
  if (!grant.conditions) {
    inspection.decision =
      committed.version === 0
        ? "no conditions: a node serves every request"
        : `the grant carries no conditions, but the policy commits to version ${committed.version}: ` +
          "ask Alice for the current grant file";
    return inspection;
  }
  try {
    checkConditionSet(
      grant.conditions,
      { chainId: BigInt(grant.chainId), policyManager: grant.policyManager },
      {
        policyId: grant.policyId,
        owner: history.record.owner,
        committedHash: committed.hash,
        committedVersion: committed.version,
      },
    );
  } catch (e) {
    if (!(e instanceof ConditionError)) throw e;
    inspection.bindingError = e.message;
  }
  const expression: ConditionExpression | null = grant.conditions.conditions;
  if (expression === null) {
    inspection.decision = "the set lifts every condition: a node serves every request";
    return inspection;
  }
  const context = { userAddress: requester };
  for (const leaf of leaves(expression.condition, "$.condition")) {
    const one: ConditionVerdict = { path: leaf.path, description: describeCondition(leaf.condition), verdict: "met" };
    try {
      const result = await evaluateConditions(
        { version: expression.version, condition: leaf.condition },
        context,
        reader,
      );
      if (!result.allowed) Object.assign(one, { verdict: "not met", reason: result.failed.reason });
    } catch (e) {
      if (!(e instanceof ConditionEvaluationError)) throw e;
      Object.assign(one, {
        verdict: "cannot evaluate",
        reason: e.message.replace(/^cannot evaluate the condition at \$\.condition: /, ""),
      });
    }
    inspection.conditions.push(one);
  }
  try {
    const result = await evaluateConditions(expression, context, reader);
    inspection.decision = result.allowed
      ? `a node would serve${requester ? ` ${requester}` : ""} now`
      : `a node would refuse: 403 CONDITION_NOT_MET: condition not met at ${result.failed.path}: ${result.failed.reason}`;
  } catch (e) {
    if (!(e instanceof ConditionEvaluationError)) throw e;
    inspection.decision = `a node would refuse: ${e.message}`;
  }
  if (inspection.bindingError) inspection.decision = `a node would refuse this set: ${inspection.bindingError}`;
  return inspection;
}

/** The inspection as lines for people: the commitment, the binding, one line per condition, the decision. */
export function formatInspection(inspection: ConditionsInspection): string[] {
  const lines = [
    `policy ${inspection.policyId}: conditions version ${inspection.committed.version} committed on-chain ` +
      `(hash ${inspection.committed.hash})`,
  ];
  if (inspection.set)
    lines.push(
      inspection.bindingError
        ? `the grant's set (version ${inspection.set.version}) does not bind: ${inspection.bindingError}`
        : `the grant's set (version ${inspection.set.version}) is signed by the owner and is the committed one`,
    );
  for (const c of inspection.conditions)
    lines.push(
      `${c.verdict === "met" ? "met" : c.verdict}: ${c.path} ${c.description}${c.reason ? ` — ${c.reason}` : ""}`,
    );
  lines.push(inspection.decision);
  return lines;
}
