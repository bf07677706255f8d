// Shared shape of a gas benchmark section: each contract area measures its own operations.
import type { HardhatRuntimeEnvironment } from "hardhat/types";

/** One measured operation: gas used by one transaction (or the stated sum of several). */
export interface GasRow {
  operation: string;
  gas: bigint;
  /** Target or peer figure to compare with, e.g. "≤ 150k (NuCypher 247–297k)". */
  target?: string;
  note?: string;
}

/** A titled group of rows, one per contract area. */
export interface GasSection {
  title: string;
  measure(hre: HardhatRuntimeEnvironment): Promise<GasRow[]>;
}

/** Gas used by a sent transaction, read from its receipt. */
export async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was dropped before it was mined");
  return receipt.gasUsed;
}

/**
 * Moves the chain to the start (plus a minute) of the next period `p` with `p % multiple == 0` (16 by default).
 * PolicyManager keeps a node's commitment bits of each 16-period block in the node's slot and writes them to
 * their 256-period word when a commitment enters a new block, so a bench that measures commitments starts at a
 * block (or word) boundary to measure the same whatever day it runs.
 */
export async function alignToBlock(
  hre: HardhatRuntimeEnvironment,
  periodDuration: bigint,
  multiple = 16n,
): Promise<void> {
  const block = await hre.ethers.provider.getBlock("latest");
  if (!block) throw new Error("no latest block");
  const current = BigInt(block.timestamp) / periodDuration;
  const target = (current / multiple + 1n) * multiple;
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(target * periodDuration + 60n)]);
  await hre.network.provider.send("evm_mine", []);
}
