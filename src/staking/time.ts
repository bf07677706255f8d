// Moving a local chain forward by whole periods, for demos and manual testing.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { StakingEscrow } from "../../typechain-types";
import { InvalidPeriodsError, NotLocalChainError } from "./errors";

/** Hardhat's development chain id; `hardhat node` and the in-process network both use it. */
const LOCAL_CHAIN_ID = 31_337n;

/**
 * Moves the chain to the first second of the period `n` periods after the current one and mines a block
 * there. Refuses any chain but a local development one. Returns the new current period.
 */
export async function advancePeriods(
  hre: HardhatRuntimeEnvironment,
  escrow: StakingEscrow,
  n: bigint,
): Promise<bigint> {
  if (n <= 0n) throw new InvalidPeriodsError("periods to advance", n);
  const { chainId } = await hre.ethers.provider.getNetwork();
  if (chainId !== LOCAL_CHAIN_ID || !["hardhat", "localhost"].includes(hre.network.name)) {
    throw new NotLocalChainError(hre.network.name, chainId);
  }
  const [current, duration] = await Promise.all([escrow.getCurrentPeriod(), escrow.periodDuration()]);
  const target = current + n;
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(target * duration)]);
  await hre.network.provider.send("evm_mine", []);
  return target;
}
