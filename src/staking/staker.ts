// A staker's state, read in one place for tasks, the demo and the node daemon.
import type { StakingEscrow } from "../../typechain-types";
import { formatKms } from "../units";

/** Everything a staker wants to see about its stake. */
export interface StakerSummary {
  staker: string;
  currentPeriod: bigint;
  stake: bigint;
  lockedValue: bigint;
  unlockPeriod: bigint;
  /** The lock that counts now (0 once it has expired). */
  activeLock: bigint;
  /** What `withdraw` accepts now. */
  withdrawable: bigint;
  operator: string;
  operatorBondedPeriod: bigint;
  /** Unminted committed periods, oldest first (0 entries dropped). */
  committedPeriods: bigint[];
  pendingReward: bigint;
}

/** Reads `staker`'s state from the escrow. */
export async function describeStaker(escrow: StakingEscrow, staker: string): Promise<StakerSummary> {
  const [info, currentPeriod, pendingReward] = await Promise.all([
    escrow.getStakerInfo(staker),
    escrow.getCurrentPeriod(),
    escrow.pendingReward(staker),
  ]);
  const activeLock = currentPeriod < info.unlockPeriod ? info.lockedValue : 0n;
  return {
    staker,
    currentPeriod,
    stake: info.stake,
    lockedValue: info.lockedValue,
    unlockPeriod: info.unlockPeriod,
    activeLock,
    withdrawable: info.stake - activeLock,
    operator: info.operator,
    operatorBondedPeriod: info.operatorBondedPeriod,
    committedPeriods: [info.previousCommittedPeriod, info.lastCommittedPeriod].filter((p) => p !== 0n),
    pendingReward,
  };
}

/** Human-readable lines for a summary. */
export function formatStaker(s: StakerSummary): string[] {
  const lock =
    s.activeLock > 0n
      ? `${formatKms(s.activeLock)} KMS until period ${s.unlockPeriod} (${s.unlockPeriod - s.currentPeriod} left)`
      : "none";
  const committed = s.committedPeriods.length > 0 ? s.committedPeriods.join(", ") : "none";
  return [
    `staker:            ${s.staker}`,
    `current period:    ${s.currentPeriod}`,
    `stake:             ${formatKms(s.stake)} KMS`,
    `lock:              ${lock}`,
    `withdrawable:      ${formatKms(s.withdrawable)} KMS`,
    `operator:          ${s.operator === "0x0000000000000000000000000000000000000000" ? "none" : s.operator}`,
    `committed periods: ${committed}`,
    `pending reward:    ${formatKms(s.pendingReward)} KMS`,
  ];
}
