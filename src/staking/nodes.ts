// Reads the nodes eligible for sampling from the chain: every staker that ever bonded an operator (from the
// escrow's OperatorBonded events), kept if it is active now, weighted by its locked stake.
import type { StakingEscrow } from "../../typechain-types";
import type { WeightedNode } from "./sampling";

/** What makes a node eligible. */
export interface ActiveNodeOptions {
  /** First block to read events from (the escrow's deployment block saves work). Default 0. */
  fromBlock?: number;
  /** Require `unlockPeriod ≥ lockedUntil` (e.g. a policy's end period). Default: the lock can still commit. */
  lockedUntil?: bigint;
}

/**
 * Stakers with a bonded operator, a lock covering `lockedUntil` and a commitment to the current or next
 * period (a node that stopped committing is not serving), each weighted by its locked value.
 */
export async function loadActiveNodes(escrow: StakingEscrow, options: ActiveNodeOptions = {}): Promise<WeightedNode[]> {
  const events = await escrow.queryFilter(escrow.filters.OperatorBonded(), options.fromBlock ?? 0);
  const stakers = [...new Set(events.map((e) => e.args.staker))];
  const current = await escrow.getCurrentPeriod();
  // A node can keep committing only while its lock outlasts the next period by the accountability window.
  const minUnlock = current + 2n + (await escrow.minOperatorPeriods());
  const lockedUntil = options.lockedUntil ?? minUnlock;
  const nodes: WeightedNode[] = [];
  for (const staker of stakers) {
    const info = await escrow.getStakerInfo(staker);
    const bonded = info.operator !== "0x0000000000000000000000000000000000000000";
    const covered = info.lockedValue > 0n && info.unlockPeriod >= lockedUntil && info.unlockPeriod >= minUnlock;
    const committing = info.lastCommittedPeriod >= current;
    if (bonded && covered && committing) nodes.push({ staker, weight: info.lockedValue });
  }
  return nodes;
}
