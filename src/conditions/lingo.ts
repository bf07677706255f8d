// The condition lingo: JSON condition expressions after TACo's published schema (taco-web `conditions`), the
// subset a node can judge from its own chain connection — block time, ERC-20/ERC-721 reads of the requester,
// any `view` call with an ABI-typed return-value test, and `and`/`or`/`not` compounds — with the bounds that
// keep one evaluation cheap.

/** The lingo version this code reads (TACo's `ConditionExpression.version`); a set of another major is refused. */
export const LINGO_VERSION = "1.0.0";

/** Compound nesting: a leaf alone has depth 0, `and(leaf, leaf)` depth 1. */
export const MAX_DEPTH = 4;
/** Operands of one `and`/`or` (`not` takes exactly one). */
export const MAX_OPERANDS = 8;
/** Time and contract conditions in a whole set. */
export const MAX_LEAVES = 16;
/** Size of a set's JSON, as given and as canonically encoded. */
export const MAX_CONDITIONS_BYTES = 16 * 1024;
/** Inputs of a contract call. */
export const MAX_PARAMETERS = 8;

export const COMPARATORS = ["==", "!=", ">", ">=", "<", "<="] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** The context variable for the requester's Ethereum address, proven by a requester proof (requester.ts). */
export const USER_ADDRESS = ":userAddress";
/** Every context variable a node can fill; any other `:name` is refused at validation. */
export const CONTEXT_VARIABLES = [USER_ADDRESS] as const;
export type ContextVariable = (typeof CONTEXT_VARIABLES)[number];

/** A literal, or a context variable the node fills at evaluation. Integers beyond 2^53 go as decimal strings. */
export type ConditionValue = string | number | boolean;

/** Compares the selected return value (`index` into a tuple of outputs, default 0) with `value`. */
export interface ReturnValueTest {
  index?: number;
  comparator: Comparator;
  value: ConditionValue;
}

/** True when the latest block's timestamp (Unix seconds) compares with `returnValueTest.value`. */
export interface TimeCondition {
  conditionType: "time";
  method: "blocktime";
  chain: number;
  returnValueTest: Omit<ReturnValueTest, "index">;
}

/** One input or output of a function ABI fragment (basic types only: no arrays or structs as inputs). */
export interface AbiParameter {
  name: string;
  type: string;
  internalType?: string;
}

/** A `view` or `pure` function, as an ABI JSON fragment. */
export interface FunctionAbi {
  name: string;
  type: "function";
  stateMutability: "view" | "pure";
  inputs: AbiParameter[];
  outputs: AbiParameter[];
}

/**
 * True when `method(parameters)` on `contractAddress` at the latest block compares with the return-value test.
 * The ABI is either a standard one (`standardContractType`) or given (`functionAbi`), never both.
 */
export interface ContractCondition {
  conditionType: "contract";
  chain: number;
  contractAddress: string;
  standardContractType?: "ERC20" | "ERC721";
  functionAbi?: FunctionAbi;
  method: string;
  parameters: ConditionValue[];
  returnValueTest: ReturnValueTest;
}

export interface CompoundCondition {
  conditionType: "compound";
  operator: "and" | "or" | "not";
  operands: Condition[];
}

export type Condition = TimeCondition | ContractCondition | CompoundCondition;

/** A whole condition set, as Alice writes it in a file (TACo's `ConditionExpression` JSON). */
export interface ConditionExpression {
  version: string;
  condition: Condition;
}

/** The functions `standardContractType` allows, by type and method. */
export const STANDARD_ABIS: Record<"ERC20" | "ERC721", Record<string, FunctionAbi>> = {
  ERC20: {
    balanceOf: {
      name: "balanceOf",
      type: "function",
      stateMutability: "view",
      inputs: [{ name: "account", type: "address" }],
      outputs: [{ name: "", type: "uint256" }],
    },
  },
  ERC721: {
    balanceOf: {
      name: "balanceOf",
      type: "function",
      stateMutability: "view",
      inputs: [{ name: "owner", type: "address" }],
      outputs: [{ name: "", type: "uint256" }],
    },
    ownerOf: {
      name: "ownerOf",
      type: "function",
      stateMutability: "view",
      inputs: [{ name: "tokenId", type: "uint256" }],
      outputs: [{ name: "", type: "address" }],
    },
  },
};

/** The ABI fragment a contract condition calls (the standard one, or its own `functionAbi`). */
export function conditionAbi(condition: ContractCondition): FunctionAbi {
  if (condition.functionAbi) return condition.functionAbi;
  // Validation guarantees exactly one of the two is set and the method exists for the standard type.
  return STANDARD_ABIS[condition.standardContractType!][condition.method];
}

/** The context variables a condition set uses: the proofs a node must ask the requester for. */
export function requiredContext(expression: ConditionExpression | null): Set<ContextVariable> {
  const used = new Set<ContextVariable>();
  const visit = (condition: Condition): void => {
    if (condition.conditionType === "compound") return condition.operands.forEach(visit);
    const values: ConditionValue[] = [condition.returnValueTest.value];
    if (condition.conditionType === "contract") values.push(...condition.parameters);
    for (const value of values) if (value === USER_ADDRESS) used.add(USER_ADDRESS);
  };
  if (expression) visit(expression.condition);
  return used;
}
