// What nodes and clients read from the chain about policies and nodes, behind small interfaces so the
// node server can be tested against a fake chain and cached in production.
import type { NodeDirectory, PolicyManager } from "../../typechain-types";
import { PolicyNotFoundError, readPolicy } from "../policy";
import { PublicKey } from "../umbral";

/** A policy as a node needs it to decide whether to serve. */
export interface LivePolicy {
  owner: string;
  nodes: string[];
  endPeriod: bigint;
  revoked: boolean;
}

/** The node's read access to policies. */
export interface PolicyView {
  /** The policy, or undefined if it does not exist on-chain. */
  getPolicy(policyId: string): Promise<LivePolicy | undefined>;
  currentPeriod(): Promise<bigint>;
}

/**
 * A PolicyView over the PolicyManager. With `cacheMs` > 0 a policy read is reused for that long, which
 * bounds how late a node notices a revocation; the node daemon uses 2 s, tests use 0.
 */
export function policyViewOf(policyManager: PolicyManager, options: { cacheMs?: number } = {}): PolicyView {
  const cacheMs = options.cacheMs ?? 0;
  const cache = new Map<string, { at: number; policy: LivePolicy | undefined }>();
  return {
    async getPolicy(policyId) {
      const hit = cache.get(policyId);
      if (hit && Date.now() - hit.at < cacheMs) return hit.policy;
      let policy: LivePolicy | undefined;
      try {
        const history = await readPolicy(policyManager, policyId);
        policy = {
          owner: history.record.owner,
          nodes: history.record.nodes,
          endPeriod: history.record.endPeriod,
          revoked: history.revoked,
        };
      } catch (e) {
        if (!(e instanceof PolicyNotFoundError)) throw e;
      }
      if (cacheMs > 0) cache.set(policyId, { at: Date.now(), policy });
      return policy;
    },
    currentPeriod: () => policyManager.getCurrentPeriod(),
  };
}

/** A node as clients find it in the NodeDirectory. */
export interface NodeContact {
  staker: string;
  url: string;
  encryptingKey: PublicKey;
}

/** Raised when a sampled node never announced itself or announced something unusable. */
export class NodeNotAnnouncedError extends Error {
  constructor(readonly staker: string) {
    super(`node ${staker} has not announced a URL and encrypting key in the NodeDirectory`);
    this.name = "NodeNotAnnouncedError";
  }
}

/** Looks up how to reach `staker`'s node. */
export async function nodeContactOf(directory: NodeDirectory, staker: string): Promise<NodeContact> {
  const record = await directory.nodeOf(staker);
  if (record.url === "") throw new NodeNotAnnouncedError(staker);
  return {
    staker,
    url: record.url.replace(/\/+$/, ""),
    encryptingKey: PublicKey.fromCompressedBytes(Buffer.from(record.encryptingKey.slice(2), "hex")),
  };
}
