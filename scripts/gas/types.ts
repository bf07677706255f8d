// Shared shape of a gas benchmark section: each contract area measures its own operations.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Signer } from "ethers";
import type { KMSToken, StakingEscrow } from "../../typechain-types";
import {
  DEFAULT_ISSUANCE_RATE,
  DEFAULT_MAX_STAKE,
  DEFAULT_MIN_LOCK_PERIODS,
  DEFAULT_MIN_OPERATOR_PERIODS,
  DEFAULT_MIN_STAKE,
  DEFAULT_MINING_RESERVE,
  DEFAULT_PERIOD_DURATION,
  DEFAULT_TOTAL_SUPPLY,
} from "../../ignition/modules/KMS";

/** One measured operation: gas used by one transaction (or the stated sum of several). */
export interface GasRow {
  operation: string;
  gas: bigint;
  /** The target as a gas ceiling; the table says "met" or "missed" next to it. */
  limit?: bigint;
  /** A target that is no ceiling, in words (e.g. "= 1 policy"). */
  target?: string;
  /** The peer's figure for the same operation (NuCypher v4, as docs/gas.md cites it). */
  peer?: string;
  /** The conditions of the row: best, typical or worst case, and what makes it so. */
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

/**
 * A KMSToken and a StakingEscrow with the Ignition module's defaults and its mining reserve funded, owned
 * by `deployer`: the base every staking and policy gas measurement starts from.
 */
export async function deployTokenAndEscrow(
  hre: HardhatRuntimeEnvironment,
  deployer: Signer,
): Promise<{ token: KMSToken; escrow: StakingEscrow }> {
  const owner = await deployer.getAddress();
  const token = (await hre.ethers.deployContract(
    "KMSToken",
    [owner, DEFAULT_TOTAL_SUPPLY],
    deployer,
  )) as unknown as KMSToken;
  const escrow = (await hre.ethers.deployContract(
    "StakingEscrow",
    [
      await token.getAddress(),
      DEFAULT_PERIOD_DURATION,
      DEFAULT_MIN_STAKE,
      DEFAULT_MAX_STAKE,
      DEFAULT_MIN_LOCK_PERIODS,
      DEFAULT_MIN_OPERATOR_PERIODS,
      DEFAULT_ISSUANCE_RATE,
      owner,
    ],
    deployer,
  )) as unknown as StakingEscrow;
  await (await token.connect(deployer).approve(await escrow.getAddress(), DEFAULT_MINING_RESERVE)).wait();
  await (await escrow.connect(deployer).fundReserve(DEFAULT_MINING_RESERVE)).wait();
  return { token, escrow };
}
