// What nodes and clients read from the chain about policies and nodes, behind small interfaces so the
// node server can be tested against a fake chain and cached in production.
import type { Provider } from "ethers";
import { LRUCache } from "lru-cache";
import type { NodeDirectory, PolicyManager } from "../../typechain-types";
import { conditionsOf, PolicyNotFoundError, readPolicy, type ConditionsCommitment } from "../policy";
import { PublicKey } from "../umbral";

/** A policy as a node needs it to decide whether to serve. */
export interface LivePolicy {
  owner: string;
  nodes: string[];
  endPeriod: bigint;
  revoked: boolean;
  /** Its access-conditions commitment (docs/conditions.md); absent: none. */
  conditions?: ConditionsCommitment;
}

/** The node's read access to policies. */
export interface PolicyView {
  /** The policy, or undefined if it does not exist on-chain. */
  getPolicy(policyId: string): Promise<LivePolicy | undefined>;
  currentPeriod(): Promise<bigint>;
  /**
   * The policy's conditions commitment read now, bypassing any cache (a delivery of a new set must be checked
   * against the chain as it is); absent: the view knows of no conditions, every policy has none.
   */
  conditionsOf?(policyId: string): Promise<ConditionsCommitment>;
}

/** How a {@link policyViewOf} view reads and caches the chain. */
export interface PolicyViewOptions {
  /**
   * How long (ms) a policy read — found or not found — and the chain's clock are reused. It bounds how late a
   * node notices a revocation, an expiry or a newly created policy; the node daemon uses 2 s, tests use 0
   * (every call reads the chain).
   */
  cacheMs?: number;
  /** Most policy ids cached at once (least recently used go first); default 10,000 (~2 MiB). */
  maxCachedPolicies?: number;
  /**
   * The block the PolicyManager was deployed in: policy events are searched from there, never from block 0
   * (which many RPC providers refuse). Found once by {@link findDeploymentBlock} when not given.
   */
  fromBlock?: number;
}

/** A {@link PolicyView} over the chain, with a bounded cache. */
export interface ChainPolicyView extends PolicyView {
  /** Policy ids (found or not) held in the cache now; never more than `maxCachedPolicies`. */
  readonly cachedPolicies: number;
}

/** Raised when the block a contract was deployed in cannot be found. */
export class DeploymentBlockError extends Error {
  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    super(
      `cannot find the block contract ${address} was deployed in (${reason}); ` +
        `give the node its deployment block explicitly (deploymentBlock)`,
      options,
    );
    this.name = "DeploymentBlockError";
  }
}

/**
 * The first block at which `address` has code: a binary search over `eth_getCode`, ~log2(height) calls once.
 * Needs a provider that keeps historical state (an archive node, or any local chain).
 */
export async function findDeploymentBlock(provider: Provider, address: string): Promise<number> {
  try {
    let high = await provider.getBlockNumber();
    if ((await provider.getCode(address, high)) === "0x") throw new DeploymentBlockError(address, "no code there");
    let low = 0;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      if ((await provider.getCode(address, mid)) === "0x") low = mid + 1;
      else high = mid;
    }
    return low;
  } catch (e) {
    if (e instanceof DeploymentBlockError) throw e;
    throw new DeploymentBlockError(address, (e as Error).message, { cause: e });
  }
}

/**
 * A PolicyView over the PolicyManager that costs the chain little per request:
 * - the current period is computed locally from the immutable `periodDuration` (read once) and the chain's clock
 *   (the latest block's timestamp, read at most once per `cacheMs`), not asked of the contract on each call;
 * - policy events are searched from the PolicyManager's deployment block;
 * - each policy read, and each "no such policy", is kept for `cacheMs` in an LRU bounded by
 *   `maxCachedPolicies`, and concurrent reads of one id share one set of RPC calls.
 */
export function policyViewOf(policyManager: PolicyManager, options: PolicyViewOptions = {}): ChainPolicyView {
  const cacheMs = options.cacheMs ?? 0;
  const provider = policyManager.runner?.provider;
  if (!provider) throw new TypeError("policyViewOf: the PolicyManager is not connected to a provider");
  const cache = new LRUCache<string, Promise<LivePolicy | null>>({
    max: options.maxCachedPolicies ?? 10_000,
    ttl: Math.max(cacheMs, 1),
  });

  let fromBlock: Promise<number> | undefined =
    options.fromBlock === undefined ? undefined : Promise.resolve(options.fromBlock);
  function deploymentBlock(): Promise<number> {
    // A failed search is not kept: the next request tries again.
    fromBlock ??= policyManager
      .getAddress()
      .then((address) => findDeploymentBlock(provider!, address))
      .catch((e: unknown) => {
        fromBlock = undefined;
        throw e;
      });
    return fromBlock;
  }

  async function readLive(policyId: string): Promise<LivePolicy | null> {
    try {
      const [history, conditions] = await Promise.all([
        readPolicy(policyManager, policyId, { fromBlock: await deploymentBlock() }),
        conditionsOf(policyManager, policyId),
      ]);
      return {
        owner: history.record.owner,
        nodes: history.record.nodes,
        endPeriod: history.record.endPeriod,
        revoked: history.revoked,
        conditions,
      };
    } catch (e) {
      if (e instanceof PolicyNotFoundError) return null;
      throw e;
    }
  }

  let periodDuration: Promise<bigint> | undefined;
  /** Chain time minus local time (seconds), and when (local ms) it was last read. */
  let clock: { offset: number; at: number } | undefined;
  let syncing: Promise<void> | undefined;
  async function syncClock(): Promise<void> {
    const block = await provider!.getBlock("latest");
    if (!block) throw new Error("the provider returned no latest block");
    clock = { offset: block.timestamp - Date.now() / 1000, at: Date.now() };
  }

  return {
    get cachedPolicies() {
      return cache.size;
    },
    conditionsOf: (policyId) => conditionsOf(policyManager, policyId),
    async getPolicy(policyId) {
      if (cacheMs <= 0) return (await readLive(policyId)) ?? undefined;
      let read = cache.get(policyId);
      if (!read) {
        read = readLive(policyId);
        cache.set(policyId, read);
        // An RPC failure is not an answer: forget it so the next request asks again.
        read.catch(() => cache.get(policyId) === read && cache.delete(policyId));
      }
      return (await read) ?? undefined;
    },
    async currentPeriod() {
      periodDuration ??= policyManager.periodDuration().catch((e: unknown) => {
        periodDuration = undefined;
        throw e;
      });
      const duration = await periodDuration;
      if (!clock || Date.now() - clock.at >= cacheMs) {
        syncing ??= syncClock().finally(() => (syncing = undefined));
        await syncing;
      }
      return BigInt(Math.floor(Date.now() / 1000 + clock!.offset)) / duration;
    },
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
