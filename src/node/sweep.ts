// The revocation sweep: a node deletes the kfrags of revoked and ended policies, so that a store read offline
// after a revocation no longer holds what Bob would need. Requests delete too, on the first 410 (server.ts);
// the sweep catches the policies nobody asks about.
import type { PolicyManager } from "../../typechain-types";
import type { PolicyView } from "../network/chain";
import type { KFragStore } from "./store";

export interface SweepOptions {
  store: KFragStore;
  policies: PolicyView;
  policyManager: PolicyManager;
  /** Largest block range of one `PolicyRevoked` log query (providers cap it); default 2,000. */
  logChunkBlocks?: number;
  onDeleted?: (policyId: string, reason: "revoked" | "expired") => void;
}

/** What one sweep did. */
export interface SweepResult {
  deleted: number;
  /** The block the sweep looked at revocations up to. */
  toBlock: number;
}

/**
 * Deletes every held kfrag whose policy was revoked or has ended. Revocations come from the `PolicyRevoked` logs
 * since the last sweep (the store keeps that block). A kfrag whose recorded end period has passed is deleted
 * only once the chain confirms the policy ended (an extended policy's kfrag stays, its new end recorded). The
 * first sweep of a store, and kfrags stored without an end period, ask the chain policy by policy.
 */
export async function sweepKFrags(options: SweepOptions): Promise<SweepResult> {
  const { store, policies, policyManager } = options;
  const provider = policyManager.runner?.provider;
  if (!provider) throw new TypeError("sweepKFrags: the PolicyManager is not connected to a provider");
  const chunk = options.logChunkBlocks ?? 2_000;
  const toBlock = await provider.getBlockNumber();
  const period = await policies.currentPeriod();
  const sweptBlock = await store.sweptBlock();

  const revoked = new Set<string>();
  if (sweptBlock !== undefined) {
    for (let from = sweptBlock + 1; from <= toBlock; from += chunk) {
      const to = Math.min(from + chunk - 1, toBlock);
      for (const event of await policyManager.queryFilter(policyManager.filters.PolicyRevoked(), from, to)) {
        revoked.add(event.args.policyId.toLowerCase());
      }
    }
  }

  let deleted = 0;
  for (const policyId of store.policyIds()) {
    let reason: "revoked" | "expired" | undefined;
    const held = await store.get(policyId);
    if (revoked.has(policyId)) reason = "revoked";
    else if (sweptBlock !== undefined && held?.endPeriod !== undefined) {
      // The end recorded at delivery has passed: the chain decides, since the policy may have been extended.
      if (period >= BigInt(held.endPeriod)) reason = await endedOnChain(policyId, period, options);
    } else {
      const policy = await policies.getPolicy(policyId);
      if (policy?.revoked) reason = "revoked";
      else if (policy && period >= policy.endPeriod) reason = "expired";
    }
    if (reason && (await store.delete(policyId))) {
      deleted++;
      options.onDeleted?.(policyId, reason);
    }
  }
  await store.setSweptBlock(toBlock);
  return { deleted, toBlock };
}

/**
 * Whether the chain says `policyId` ended ("expired") or was revoked by `period`; undefined if it still runs (it
 * was extended: the new end is recorded with the kfrag, so the chain is not asked again before then) or is not
 * found. A failed read throws: the sweep keeps the kfrag and tries again next time.
 */
async function endedOnChain(
  policyId: string,
  period: bigint,
  options: SweepOptions,
): Promise<"revoked" | "expired" | undefined> {
  const policy = await options.policies.getPolicy(policyId);
  if (!policy) return undefined;
  if (policy.revoked) return "revoked";
  if (period >= policy.endPeriod) return "expired";
  await options.store.setEndPeriod(policyId, policy.endPeriod.toString());
  return undefined;
}
