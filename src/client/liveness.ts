// Check before paying: every node a grant would pay is asked for its status (with a deadline) and compared with
// the chain — the right chain and contracts, the operator and Umbral key the NodeDirectory announces, serving.
// A node that fails is replaced by the next draw of the same seeded stake-weighted sample, so the choice stays
// reproducible for a given seed and chain state; if the live nodes run out, nothing is paid.
import { hexlify } from "ethers";
import type { NodeDirectory, StakingEscrow } from "../../typechain-types";
import { drawNodes, type WeightedNode } from "../staking";
import { nodeContactOf, type NodeContact } from "../network/chain";
import { nodeEndpoint, parseNodeUrl, type NodeStatus } from "../network/protocol";
import { requestJson } from "./http";

/** What a node must report to be paid for: the deployment it serves. */
export interface ExpectedDeployment {
  chainId: bigint;
  escrow: string;
  policyManager: string;
  nodeDirectory: string;
}

/** A node that was not used, and why. */
export interface RejectedNode {
  staker: string;
  reason: string;
}

/** Raised before any payment when fewer live, consistent nodes exist than the grant needs. */
export class NotEnoughLiveNodesError extends Error {
  constructor(
    readonly needed: number,
    readonly live: number,
    readonly rejected: RejectedNode[],
  ) {
    super(
      `only ${live} of the ${needed} nodes the grant needs are live and consistent with the chain; nothing was paid. ` +
        (rejected.length ? `Rejected: ${rejected.map((r) => `${r.staker} (${r.reason})`).join("; ")}` : "no node left"),
    );
    this.name = "NotEnoughLiveNodesError";
  }
}

const same = (a: string | null | undefined, b: string) => typeof a === "string" && a.toLowerCase() === b.toLowerCase();

export interface LivenessContracts {
  escrow: Pick<StakingEscrow, "operatorOf">;
  nodeDirectory: NodeDirectory;
}

/**
 * Asks `staker`'s node for its status and compares it with the chain. Resolves with the node's contact if it is
 * live and consistent, or with the reason it is not (never throws for a node's fault).
 */
export async function checkNode(
  contracts: LivenessContracts,
  staker: string,
  expected: ExpectedDeployment,
  timeoutMs: number,
): Promise<{ contact: NodeContact } | { reason: string }> {
  let contact: NodeContact;
  try {
    contact = await nodeContactOf(contracts.nodeDirectory, staker);
    parseNodeUrl(contact.url);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  const [record, operator] = await Promise.all([
    contracts.nodeDirectory.nodeOf(staker),
    contracts.escrow.operatorOf(staker),
  ]);
  let status: NodeStatus;
  try {
    status = await requestJson<NodeStatus>(nodeEndpoint(contact.url, "v1", "status"), undefined, { timeoutMs });
  } catch (e) {
    return { reason: `status not answered: ${(e as Error).message}` };
  }
  if (typeof status !== "object" || status === null) return { reason: "its status is not a JSON object" };
  const announcedKey = hexlify(contact.encryptingKey.toCompressedBytes());
  if (!same(status.staker, staker)) return { reason: `it says it serves staker ${String(status.staker)}` };
  if (status.chainId !== expected.chainId.toString()) {
    return { reason: `it serves chain ${String(status.chainId)}, not ${expected.chainId}` };
  }
  const served = status.contracts;
  if (!served) return { reason: "its status names no contracts (node software too old?)" };
  for (const name of ["escrow", "policyManager", "nodeDirectory"] as const) {
    if (!same(served[name], expected[name])) {
      return { reason: `it serves the ${name} at ${String(served[name])}, not ${expected[name]}` };
    }
  }
  if (!same(status.operator, operator)) {
    return { reason: `it runs as operator ${String(status.operator)}, the staker's bonded operator is ${operator}` };
  }
  if (!same(status.operator, record.operator)) {
    return {
      reason: `it runs as operator ${String(status.operator)}, the announcement was made by ${record.operator}`,
    };
  }
  if (!same(status.encryptingKey, announcedKey)) {
    return { reason: `its encrypting key ${String(status.encryptingKey)} is not the announced ${announcedKey}` };
  }
  if (status.acceptingKFrags !== true) {
    return { reason: `not accepting kfrags: ${status.notAcceptingReason ?? "its status does not say it is serving"}` };
  }
  return { contact };
}

/** Options of {@link pickLiveNodes}. */
export interface PickOptions {
  /** Deadline of each status request; default 5 s. */
  timeoutMs?: number;
  onRejected?: (node: RejectedNode) => void;
}

/**
 * The first `count` live nodes of the seeded stake-weighted sample of `candidates`, in draw order, with their
 * contacts: `count` are drawn and checked at once, each that fails is replaced by the next draw. Throws
 * NotEnoughLiveNodesError (naming each rejected node) when the candidates run out. `exclude` are never drawn
 * (e.g. a policy's other nodes, when one slot is healed); they count neither as draws nor as rejections.
 */
export async function pickLiveNodes(
  contracts: LivenessContracts,
  candidates: readonly WeightedNode[],
  count: number,
  seed: Uint8Array,
  expected: ExpectedDeployment,
  options: PickOptions & { exclude?: readonly string[] } = {},
): Promise<{ contacts: NodeContact[]; rejected: RejectedNode[] }> {
  const excluded = new Set((options.exclude ?? []).map((s) => s.toLowerCase()));
  const draws = drawNodes(candidates, seed);
  const contacts: NodeContact[] = [];
  const rejected: RejectedNode[] = [];
  const next = (k: number) => {
    const out: string[] = [];
    while (out.length < k && draws.remaining > 0) {
      for (const s of draws.take(k - out.length)) if (!excluded.has(s.toLowerCase())) out.push(s);
    }
    return out;
  };
  let batch = next(count);
  while (batch.length > 0) {
    const results = await Promise.all(batch.map((s) => checkNode(contracts, s, expected, options.timeoutMs ?? 5_000)));
    results.forEach((result, i) => {
      if ("contact" in result) contacts.push(result.contact);
      else {
        const node = { staker: batch[i], reason: result.reason };
        rejected.push(node);
        options.onRejected?.(node);
      }
    });
    if (contacts.length >= count) break;
    batch = next(count - contacts.length);
  }
  if (contacts.length < count) throw new NotEnoughLiveNodesError(count, contacts.length, rejected);
  return { contacts, rejected };
}

/**
 * Checks nodes named by the user (no sampling, so no replacement): each must be live and consistent, or
 * NotEnoughLiveNodesError names every one that is not.
 */
export async function checkNamedNodes(
  contracts: LivenessContracts,
  stakers: readonly string[],
  expected: ExpectedDeployment,
  options: PickOptions = {},
): Promise<NodeContact[]> {
  const results = await Promise.all(stakers.map((s) => checkNode(contracts, s, expected, options.timeoutMs ?? 5_000)));
  const rejected: RejectedNode[] = [];
  const contacts: NodeContact[] = [];
  results.forEach((result, i) => {
    if ("contact" in result) contacts.push(result.contact);
    else rejected.push({ staker: stakers[i], reason: result.reason });
  });
  for (const node of rejected) options.onRejected?.(node);
  if (rejected.length) throw new NotEnoughLiveNodesError(stakers.length, contacts.length, rejected);
  return contacts;
}
