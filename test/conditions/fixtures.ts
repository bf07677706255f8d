// Builders of condition sets for the tests: the lingo as a user writes it, for the in-process chain.
import { ReplayGuard, type Condition, type ConditionExpression, type RequesterExpectation } from "../../src/conditions";

export const CHAIN = 31337;

export const set = (condition: Condition): ConditionExpression => ({ version: "1.0.0", condition });

export const timeAfter = (seconds: number, comparator: ">=" | ">" | "<" | "<=" = ">="): Condition => ({
  conditionType: "time",
  method: "blocktime",
  chain: CHAIN,
  returnValueTest: { comparator, value: seconds },
});

export const erc20AtLeast = (token: string, amount: bigint): Condition => ({
  conditionType: "contract",
  chain: CHAIN,
  contractAddress: token,
  standardContractType: "ERC20",
  method: "balanceOf",
  parameters: [":userAddress"],
  returnValueTest: { comparator: ">=", value: amount.toString() },
});

export const erc721Owner = (nft: string, tokenId: number): Condition => ({
  conditionType: "contract",
  chain: CHAIN,
  contractAddress: nft,
  standardContractType: "ERC721",
  method: "ownerOf",
  parameters: [tokenId],
  returnValueTest: { comparator: "==", value: ":userAddress" },
});

export const and = (...operands: Condition[]): Condition => ({ conditionType: "compound", operator: "and", operands });
export const or = (...operands: Condition[]): Condition => ({ conditionType: "compound", operator: "or", operands });
export const not = (operand: Condition): Condition => ({
  conditionType: "compound",
  operator: "not",
  operands: [operand],
});

/** A call to ConditionOracle.describe(seed) testing output `index`, declared with `outputs` (default the real ones). */
export const oracleDescribe = (
  oracle: string,
  seed: number | string,
  index: number,
  comparator: "==" | "!=" | ">" | ">=" | "<" | "<=",
  value: string | number | boolean,
  outputs = [
    { name: "amount", type: "uint256" },
    { name: "delta", type: "int256" },
    { name: "flag", type: "bool" },
    { name: "who", type: "address" },
    { name: "tag", type: "bytes32" },
  ],
): Condition => ({
  conditionType: "contract",
  chain: CHAIN,
  contractAddress: oracle,
  functionAbi: {
    name: "describe",
    type: "function",
    stateMutability: "pure",
    inputs: [{ name: "seed", type: "uint256" }],
    outputs,
  },
  method: "describe",
  parameters: [seed],
  returnValueTest: { index, comparator, value },
});

/** ConditionOracle's one-argument calls: `valueOf(address)` reads a stored value, `broken(uint256)` always reverts. */
const ORACLE_CALLS = {
  valueOf: { stateMutability: "view", keyType: "address" },
  broken: { stateMutability: "pure", keyType: "uint256" },
} as const;

/** A call to ConditionOracle's `method(key) returns (uint256)` with `key`, tested `== value`. */
export const oracleCall = (
  oracle: string,
  method: keyof typeof ORACLE_CALLS,
  key: string | number,
  value: number,
): Condition => ({
  conditionType: "contract",
  chain: CHAIN,
  contractAddress: oracle,
  functionAbi: {
    name: method,
    type: "function",
    stateMutability: ORACLE_CALLS[method].stateMutability,
    inputs: [{ name: "key", type: ORACLE_CALLS[method].keyType }],
    outputs: [{ name: "", type: "uint256" }],
  },
  method,
  parameters: [key],
  returnValueTest: { comparator: "==", value },
});

/** The URL of the node the requester-proof tests talk to, and its SIWE domain. */
export const NODE_URI = "https://node-1.example.org:9151";

/** What that node expects of a requester proof at `now` (chain time), with a fresh replay guard. */
export const nodeExpectation = (now: number, overrides: Partial<RequesterExpectation> = {}): RequesterExpectation => ({
  domain: new URL(NODE_URI).host,
  uri: NODE_URI,
  chainId: BigInt(CHAIN),
  now,
  replay: new ReplayGuard(),
  ...overrides,
});
