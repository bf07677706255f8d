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
 * Deletes every held kfrag whose policy was revoked or has ended. A kfrag ends at the end period recorded with
 * it; revocations come from the `PolicyRevoked` logs since the last sweep (the store keeps that block). The
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
      if (period >= BigInt(held.endPeriod)) reason = "expired";
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
