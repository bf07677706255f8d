// Reads the nodes eligible for sampling from the chain: every staker that ever bonded an operator (from the
// escrow's OperatorBonded events), kept if it is active now, weighted by its locked stake.
import { ZeroAddress } from "ethers";
import type { StakingEscrow } from "../../typechain-types";
import type { WeightedNode } from "./sampling";

/** What makes a node eligible. */
export interface ActiveNodeOptions {
  /** First block to read events from (the escrow's deployment block saves work). Default 0. */
  fromBlock?: number;
  /**
   * The node's lock must let it commit to every period before this one, e.g. a policy's (exclusive) end
   * period. A commitment to period `p` needs `unlockPeriod > p + minOperatorPeriods`, so this requires
   * `unlockPeriod ≥ lockedUntil + minOperatorPeriods`. Default: the node can commit to the next period.
   */
  lockedUntil?: bigint;
}

/**
 * Stakers with a bonded operator, a lock that lets them commit until `lockedUntil` and a commitment to the
 * current or next period (a node that stopped committing is not serving), each weighted by its locked value.
 */
export async function loadActiveNodes(escrow: StakingEscrow, options: ActiveNodeOptions = {}): Promise<WeightedNode[]> {
  const events = await escrow.queryFilter(escrow.filters.OperatorBonded(), options.fromBlock ?? 0);
  const stakers = [...new Set(events.map((e) => e.args.staker))];
  const [current, window] = await Promise.all([escrow.getCurrentPeriod(), escrow.minOperatorPeriods()]);
  // Committing to the next period (current + 1) needs unlockPeriod ≥ current + 2 + window.
  const until =
    options.lockedUntil !== undefined && options.lockedUntil > current + 2n ? options.lockedUntil : current + 2n;
  const minUnlock = until + window;
  const nodes: WeightedNode[] = [];
  for (const staker of stakers) {
    const info = await escrow.getStakerInfo(staker);
    const bonded = info.operator !== ZeroAddress;
    const covered = info.lockedValue > 0n && info.unlockPeriod >= minUnlock;
    const committing = info.lastCommittedPeriod >= current;
    if (bonded && covered && committing) nodes.push({ staker, weight: info.lockedValue });
  }
  return nodes;
}
