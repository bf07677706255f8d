// The policy record the PolicyManager commits to (keccak256 of it is all the contract stores per policy),
// its hash computed exactly as the contract does, and the node-list rule the contract enforces.
import { AbiCoder, concat, getAddress, keccak256, zeroPadValue } from "ethers";
import { InvalidNodeListError } from "./errors";

/** Same fields, order and meaning as `IPolicyManager.Policy`. */
export interface PolicyRecord {
  owner: string;
  startPeriod: bigint;
  endPeriod: bigint;
  refundedThrough: bigint;
  feeRate: bigint;
  nodes: string[];
}

/** The contract's bound on the node list (`MAX_NODES`). */
export const MAX_POLICY_NODES = 32;

/** `keccak256(abi.encodePacked(nodes))`: each address left-padded to 32 bytes. */
export function hashNodes(nodes: readonly string[]): string {
  return keccak256(concat(nodes.map((node) => zeroPadValue(node, 32))));
}

/** The commitment `IPolicyManager.hashPolicy` returns for `record`. */
export function hashPolicyRecord(record: PolicyRecord): string {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["address", "uint256", "uint256", "uint256", "uint256", "bytes32"],
    [
      record.owner,
      record.startPeriod,
      record.endPeriod,
      record.refundedThrough,
      record.feeRate,
      hashNodes(record.nodes),
    ],
  );
  return keccak256(encoded);
}

/**
 * Checksums and sorts a node list ascending, as `createPolicy` requires, rejecting an empty list, more than
 * MAX_POLICY_NODES nodes, or a node given twice.
 */
export function sortNodes(nodes: readonly string[]): string[] {
  if (nodes.length === 0) throw new InvalidNodeListError("it is empty");
  if (nodes.length > MAX_POLICY_NODES) {
    throw new InvalidNodeListError(`${nodes.length} nodes, at most ${MAX_POLICY_NODES} are allowed`);
  }
  const sorted = nodes.map((node) => getAddress(node)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new InvalidNodeListError(`${sorted[i]} appears twice`);
  }
  return sorted;
}

/** The deposit `createPolicy` takes: feeRate × periods × nodes. */
export function policyDeposit(feeRate: bigint, periods: bigint, nodeCount: number): bigint {
  return feeRate * periods * BigInt(nodeCount);
}

/** What `extendPolicy` takes to move `record`'s end to `newEndPeriod`: feeRate × added periods × nodes, exactly. */
export function extensionDeposit(record: PolicyRecord, newEndPeriod: bigint): bigint {
  return newEndPeriod > record.endPeriod
    ? policyDeposit(record.feeRate, newEndPeriod - record.endPeriod, record.nodes.length)
    : 0n;
}
