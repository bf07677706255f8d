// Validation of a condition set: the schema (shape), then what a schema cannot say — depth and leaf bounds, the
// chain, ABI fragments, parameters and test values that fit their ABI types, context variables a node knows.
// One entry point, parseConditions, for Alice at grant time and for a node at delivery: a set that passes is
// one the evaluator can judge without meeting a malformed field.
import { FunctionFragment } from "ethers";
import { ConditionFormatError } from "./errors";
import {
  CONTEXT_VARIABLES,
  MAX_CONDITIONS_BYTES,
  MAX_DEPTH,
  MAX_LEAVES,
  STANDARD_ABIS,
  USER_ADDRESS,
  conditionAbi,
  type Condition,
  type ConditionExpression,
  type ContractCondition,
} from "./lingo";
import { comparatorsFor, isBasicType, toAbiValue } from "./abi";
import { jsonPath, schemaViolation } from "./schema";
import { canonicalBytes } from "./canonical";

/** How JSON nested at most (objects and arrays), checked before the schema so no input can exhaust the stack. */
const MAX_JSON_NESTING = 48;

export interface ParseOptions {
  /** The policy's chain: every condition's `chain` must be it. */
  chainId?: bigint | number;
}

/** Addresses below 2^16: precompiles and reserved system contracts, which answer any call without being one. */
const LOWEST_CONTRACT = 1n << 16n;

/**
 * Parses and validates a condition set given as JSON text (a file's contents) or as a parsed value. Returns the
 * set unchanged (no field is added or rewritten, so its canonical bytes are what the author wrote); throws
 * ConditionFormatError naming the first bad field and why.
 */
export function parseConditions(input: string | unknown, options: ParseOptions = {}): ConditionExpression {
  let value = input;
  if (typeof input === "string") {
    if (new TextEncoder().encode(input).length > MAX_CONDITIONS_BYTES)
      throw new ConditionFormatError("$", `the JSON is larger than ${MAX_CONDITIONS_BYTES} bytes`);
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new ConditionFormatError("$", `not valid JSON (${(e as Error).message})`);
    }
  }
  checkCompoundDepth(value);
  checkNesting(value, "$", 0);
  const violation = schemaViolation(value);
  if (violation) throw new ConditionFormatError(violation.path, violation.reason);
  const expression = value as ConditionExpression;
  let leaves = 0;
  const visit = (condition: Condition, path: string): void => {
    if (condition.conditionType === "compound") {
      const n = condition.operands.length;
      if (condition.operator === "not" && n !== 1)
        throw new ConditionFormatError(`${path}.operands`, `"not" takes exactly one operand, got ${n}`);
      if (condition.operator !== "not" && n < 2)
        throw new ConditionFormatError(
          `${path}.operands`,
          `"${condition.operator}" takes at least two operands, got ${n}`,
        );
      condition.operands.forEach((operand, i) => visit(operand, `${path}.operands[${i}]`));
      return;
    }
    if (++leaves > MAX_LEAVES)
      throw new ConditionFormatError(path, `more than ${MAX_LEAVES} time and contract conditions in one set`);
    if (options.chainId !== undefined && BigInt(condition.chain) !== BigInt(options.chainId))
      throw new ConditionFormatError(
        `${path}.chain`,
        `chain ${condition.chain} is not the policy's chain ${options.chainId}`,
      );
    if (condition.conditionType === "time") {
      const { value } = condition.returnValueTest;
      const converted = toAbiValue("uint64", value);
      if ("error" in converted)
        throw new ConditionFormatError(
          `${path}.returnValueTest.value`,
          `a block time in Unix seconds: ${converted.error}`,
        );
      return;
    }
    checkContract(condition, path);
  };
  visit(expression.condition, "$.condition");
  const size = canonicalBytes(expression).length;
  if (size > MAX_CONDITIONS_BYTES)
    throw new ConditionFormatError("$", `the canonical encoding is ${size} bytes, more than ${MAX_CONDITIONS_BYTES}`);
  return expression;
}

/** A `:name` is a context variable; only the known ones may appear, and only where an address goes. */
function checkValue(type: string, value: unknown, path: string): void {
  if (typeof value === "string" && value.startsWith(":")) {
    if (!(CONTEXT_VARIABLES as readonly string[]).includes(value))
      throw new ConditionFormatError(
        path,
        `unknown context variable ${JSON.stringify(value)} (known: ${CONTEXT_VARIABLES.join(", ")})`,
      );
    if (value === USER_ADDRESS && type !== "address")
      throw new ConditionFormatError(path, `${USER_ADDRESS} is an address, but this value is a ${type}`);
    return;
  }
  const converted = toAbiValue(type, value);
  if ("error" in converted) throw new ConditionFormatError(path, `not a valid ${type}: ${converted.error}`);
}

function checkContract(condition: ContractCondition, path: string): void {
  if (BigInt(condition.contractAddress) < LOWEST_CONTRACT)
    throw new ConditionFormatError(`${path}.contractAddress`, "a precompile or reserved address, not a contract");
  checkValue("address", condition.contractAddress, `${path}.contractAddress`);
  const { standardContractType: standard, functionAbi } = condition;
  if ((standard === undefined) === (functionAbi === undefined))
    throw new ConditionFormatError(path, "give exactly one of standardContractType and functionAbi");
  if (standard !== undefined) {
    if (!STANDARD_ABIS[standard][condition.method])
      throw new ConditionFormatError(
        `${path}.method`,
        `${standard} conditions call ${Object.keys(STANDARD_ABIS[standard]).join(" or ")}, not ${condition.method}`,
      );
  } else {
    const abi = functionAbi!;
    if (abi.name !== condition.method)
      throw new ConditionFormatError(`${path}.functionAbi.name`, `is ${abi.name}, but method is ${condition.method}`);
    for (const [list, params] of [
      ["inputs", abi.inputs],
      ["outputs", abi.outputs],
    ] as const) {
      params.forEach((param, i) => {
        if (!isBasicType(param.type))
          throw new ConditionFormatError(
            `${path}.functionAbi.${list}[${i}].type`,
            `${JSON.stringify(param.type)} is not a basic ABI type (uint8…uint256, int8…int256, address, bool, ` +
              `bytes1…bytes32, bytes, string)`,
          );
      });
    }
    try {
      FunctionFragment.from(abi);
    } catch (e) {
      throw new ConditionFormatError(`${path}.functionAbi`, `not a function ABI fragment (${(e as Error).message})`);
    }
  }
  const abi = conditionAbi(condition);
  if (condition.parameters.length !== abi.inputs.length)
    throw new ConditionFormatError(
      `${path}.parameters`,
      `${condition.method} takes ${abi.inputs.length} parameter(s), got ${condition.parameters.length}`,
    );
  condition.parameters.forEach((parameter, i) => checkValue(abi.inputs[i].type, parameter, `${path}.parameters[${i}]`));
  const test = condition.returnValueTest;
  const index = test.index ?? 0;
  if (index >= abi.outputs.length)
    throw new ConditionFormatError(
      `${path}.returnValueTest.index`,
      `${condition.method} returns ${abi.outputs.length} value(s), so index ${index} does not exist`,
    );
  const type = abi.outputs[index].type;
  if (!comparatorsFor(type).includes(test.comparator))
    throw new ConditionFormatError(
      `${path}.returnValueTest.comparator`,
      `${test.comparator} does not apply to a ${type} (use ${comparatorsFor(type).join(" or ")})`,
    );
  checkValue(type, test.value, `${path}.returnValueTest.value`);
}

/** Follows compounds only (whatever their shape), so "too deep" is said before any other complaint. */
function checkCompoundDepth(root: unknown): void {
  const walk = (node: unknown, path: string, depth: number): void => {
    if (typeof node !== "object" || node === null) return;
    const operands = (node as { operands?: unknown }).operands;
    if (!Array.isArray(operands)) return;
    if (depth + 1 > MAX_DEPTH)
      throw new ConditionFormatError(path, `compound conditions nest deeper than ${MAX_DEPTH} levels`);
    operands.forEach((operand, i) => walk(operand, `${path}.operands[${i}]`, depth + 1));
  };
  if (typeof root === "object" && root !== null) walk((root as { condition?: unknown }).condition, "$.condition", 0);
}

function checkNesting(node: unknown, path: string, depth: number): void {
  if (typeof node !== "object" || node === null) return;
  if (depth >= MAX_JSON_NESTING)
    throw new ConditionFormatError(path, `JSON nests deeper than ${MAX_JSON_NESTING} levels`);
  for (const [key, child] of Object.entries(node))
    checkNesting(child, jsonPath("", key).replace(/^\$/, path), depth + 1);
}
