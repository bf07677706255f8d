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
