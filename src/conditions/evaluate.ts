// Evaluation of a condition set at the latest block of the node's own chain connection. Three outcomes, never
// confused: allowed; not allowed, naming the condition that failed in a sentence; or cannot evaluate (a typed
// ConditionEvaluationError: RPC failure, deadline, not a contract, revert, undecodable, missing proof). An
// evaluation error is never read as "false", so `not` cannot turn it into an allow: compounds follow Kleene's
// three-valued logic — `or` is allowed as soon as one operand holds, `and` refused as soon as one fails, and
// only when neither settles it does the first error stand. Operands are evaluated in order and short-circuit.
import { Interface, isError, type FunctionFragment } from "ethers";
import { ConditionEvaluationError } from "./errors";
import {
  USER_ADDRESS,
  conditionAbi,
  type Condition,
  type ConditionExpression,
  type ConditionValue,
  type ContractCondition,
  type TimeCondition,
} from "./lingo";
import { compare, fromDecoded, toAbiValue, type AbiValue } from "./abi";
import type { BlockRef, ChainReader } from "./reader";

/** What the request proved: the requester's address (from verifyRequester), if it proved one. */
export interface EvaluationContext {
  userAddress?: string;
}

/** The condition that decided a refusal, where it is in the set, and why in words. */
export interface FailedCondition {
  path: string;
  condition: Condition;
  reason: string;
}

export type EvaluationResult = { allowed: true } | { allowed: false; failed: FailedCondition };

export interface EvaluateOptions {
  /** The whole evaluation's budget in milliseconds; past it: ConditionEvaluationError DEADLINE. Default 5000. */
  deadlineMs?: number;
}

export const DEFAULT_DEADLINE_MS = 5_000;

type Outcome = { met: true } | { met: false; failed: FailedCondition };

/**
 * Evaluates a policy's conditions (the expression, or the signed set holding it; null: no conditions) for a
 * request that proved `context`. Resolves to the verdict; rejects with ConditionEvaluationError when the
 * verdict cannot be reached.
 */
export async function evaluateConditions(
  set: ConditionExpression | { conditions: ConditionExpression | null } | null,
  context: EvaluationContext,
  reader: ChainReader,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const expression = set !== null && "conditions" in set ? set.conditions : set;
  if (expression === null) return { allowed: true };
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new ConditionEvaluationError("DEADLINE", "$.condition", `not decided within ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  try {
    const run = async (): Promise<EvaluationResult> => {
      let block: BlockRef;
      try {
        block = await reader.latestBlock();
      } catch (e) {
        throw new ConditionEvaluationError("RPC_FAILURE", "$.condition", `reading the latest block: ${reason(e)}`);
      }
      const outcome = await new Evaluation(reader, block, context).condition(expression.condition, "$.condition");
      return outcome.met ? { allowed: true } : { allowed: false, failed: outcome.failed };
    };
    return await Promise.race([run(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short reason from an RPC or ethers error, without a stack or a hex dump. */
function reason(e: unknown): string {
  const error = e as { shortMessage?: string; message?: string };
  const text = error?.shortMessage ?? error?.message ?? String(e);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Whether a failed call reverted (as opposed to the RPC failing): ethers providers say CALL_EXCEPTION; Hardhat's
 * in-process provider (hardhat-ethers) throws its own error carrying the revert data.
 */
function isRevert(e: unknown): boolean {
  if (isError(e, "CALL_EXCEPTION")) return true;
  const error = e as { data?: unknown; message?: unknown };
  return (
    typeof error?.data === "string" &&
    /^0x([0-9a-fA-F]{2})*$/.test(error.data) &&
    typeof error.message === "string" &&
    /^(VM Exception while processing transaction: revert|Transaction reverted)/.test(error.message)
  );
}

const when = (seconds: bigint): string => {
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? `${new Date(ms).toISOString()} (${seconds})` : `${seconds}`;
};

/** A one-line description of a condition, for refusals and for `kms conditions`. */
export function describeCondition(condition: Condition): string {
  switch (condition.conditionType) {
    case "time": {
      const { comparator, value } = condition.returnValueTest;
      return `block time ${comparator} ${when(BigInt(value))}`;
    }
    case "contract": {
      const { index, comparator, value } = condition.returnValueTest;
      const kind = condition.standardContractType ? `${condition.standardContractType} ` : "";
      const selected = index ? `[${index}]` : "";
      return (
        `${kind}${condition.contractAddress}.${condition.method}(${condition.parameters.join(", ")})${selected} ` +
        `${comparator} ${value}`
      );
    }
    case "compound":
      return condition.operator === "not"
        ? `not (${describeCondition(condition.operands[0])})`
        : condition.operands.map((c) => `(${describeCondition(c)})`).join(` ${condition.operator} `);
  }
}

class Evaluation {
  constructor(
    private readonly reader: ChainReader,
    private readonly block: BlockRef,
    private readonly context: EvaluationContext,
  ) {}

  async condition(condition: Condition, path: string): Promise<Outcome> {
    if (condition.conditionType === "compound") return this.compound(condition.operator, condition, path);
    if (BigInt(condition.chain) !== this.reader.chainId)
      throw new ConditionEvaluationError(
        "WRONG_CHAIN",
        path,
        `the condition is for chain ${condition.chain}, and this node reads chain ${this.reader.chainId}`,
      );
    return condition.conditionType === "time" ? this.time(condition, path) : this.contract(condition, path);
  }

  private async compound(
    operator: "and" | "or" | "not",
    condition: Condition & { operands: Condition[] },
    path: string,
  ): Promise<Outcome> {
    if (operator === "not") {
      const inner = await this.condition(condition.operands[0], `${path}.operands[0]`);
      return inner.met
        ? {
            met: false,
            failed: {
              path,
              condition,
              reason: `${describeCondition(condition.operands[0])} holds, and the condition needs it not to`,
            },
          }
        : { met: true };
    }
    let firstError: ConditionEvaluationError | undefined;
    const failures: FailedCondition[] = [];
    for (const [i, operand] of condition.operands.entries()) {
      let outcome: Outcome;
      try {
        outcome = await this.condition(operand, `${path}.operands[${i}]`);
      } catch (e) {
        if (!(e instanceof ConditionEvaluationError)) throw e;
        firstError ??= e;
        continue;
      }
      if (operator === "and" && !outcome.met) return outcome;
      if (operator === "or" && outcome.met) return outcome;
      if (!outcome.met) failures.push(outcome.failed);
    }
    if (firstError) throw firstError;
    if (operator === "and") return { met: true };
    return {
      met: false,
      failed: {
        path,
        condition,
        reason: `none of the ${failures.length} alternatives holds: ${failures.map((f) => f.reason).join("; ")}`,
      },
    };
  }

  private time(condition: TimeCondition, path: string): Outcome {
    const { comparator, value } = condition.returnValueTest;
    const now = BigInt(this.block.timestamp);
    const expected = BigInt(value);
    if (compare(now, comparator, expected)) return { met: true };
    return {
      met: false,
      failed: {
        path,
        condition,
        reason: `the block time is ${when(now)}, and the condition needs it ${comparator} ${when(expected)}`,
      },
    };
  }

  /** A lingo value with the context filled in, converted to `type` (validation made sure it fits). */
  private resolve(type: string, value: ConditionValue, path: string): AbiValue {
    let literal: ConditionValue = value;
    if (value === USER_ADDRESS) {
      if (this.context.userAddress === undefined)
        throw new ConditionEvaluationError(
          "MISSING_CONTEXT",
          path,
          `it needs the requester's address (${USER_ADDRESS}), and the request proves none`,
        );
      literal = this.context.userAddress;
    }
    const converted = toAbiValue(type, literal);
    if ("error" in converted) throw new ConditionEvaluationError("MISSING_CONTEXT", path, converted.error);
    return converted.value;
  }

  private async contract(condition: ContractCondition, path: string): Promise<Outcome> {
    const abi = conditionAbi(condition);
    const iface = new Interface([abi]);
    const fragment = iface.getFunction(condition.method) as FunctionFragment;
    const args = condition.parameters.map((p, i) => this.resolve(abi.inputs[i].type, p, `${path}.parameters[${i}]`));
    const test = condition.returnValueTest;
    const index = test.index ?? 0;
    const type = abi.outputs[index].type;
    const expected = this.resolve(type, test.value, `${path}.returnValueTest.value`);
    const to = condition.contractAddress;
    const call = `${condition.method}(${args.join(", ")}) on ${to}`;
    let data: string;
    try {
      data = await this.reader.call(this.block.number, to, iface.encodeFunctionData(fragment, args));
    } catch (e) {
      if (isRevert(e))
        throw new ConditionEvaluationError(
          "REVERTED",
          path,
          `${call} reverted at block ${this.block.number} (${reason(e)})`,
        );
      throw new ConditionEvaluationError("RPC_FAILURE", path, `calling ${call}: ${reason(e)}`);
    }
    if (data === "0x") {
      let code: string;
      try {
        code = await this.reader.code(this.block.number, to);
      } catch (e) {
        throw new ConditionEvaluationError("RPC_FAILURE", path, `reading the code of ${to}: ${reason(e)}`);
      }
      if (code === "0x")
        throw new ConditionEvaluationError("NOT_A_CONTRACT", path, `${to} has no code at block ${this.block.number}`);
      throw new ConditionEvaluationError("UNDECODABLE", path, `${call} returned no data`);
    }
    let actual: AbiValue;
    try {
      actual = fromDecoded(type, iface.decodeFunctionResult(fragment, data)[index]);
    } catch (e) {
      throw new ConditionEvaluationError(
        "UNDECODABLE",
        path,
        `${call} returned bytes that are not ${abi.outputs.map((o) => o.type).join(", ")} (${reason(e)})`,
      );
    }
    if (compare(actual, test.comparator, expected)) return { met: true };
    const selected = abi.outputs.length > 1 ? ` value ${index}` : "";
    return {
      met: false,
      failed: {
        path,
        condition,
        reason: `${call} returned${selected} ${actual} at block ${this.block.number}, and the condition needs ${test.comparator} ${expected}`,
      },
    };
  }
}
