// Reads the nodes eligible for sampling from the chain: every staker that announced a node in the NodeDirectory,
// read a page (up to 1,000 nodes with their stake state) per call, kept if it is active now, weighted by its
// locked stake. 10,000 nodes cost ten `eth_call`s, made concurrently, instead of an event scan from block 0 and
// one call per staker.
import { getAddress, getBytes, hexlify, ZeroAddress } from "ethers";
import type { NodeDirectory, StakingEscrow } from "../../typechain-types";
import type { WeightedNode } from "./sampling";

/** Nodes per `nodesPage` call: the directory's MAX_PAGE. */
export const NODE_PAGE_SIZE = 1000;
/** Pages asked for at once. */
const CONCURRENT_PAGES = 8;

/** One node of a `nodesPage`: 80 bytes (contracts/interfaces/INodeDirectory.sol). */
interface PagedNode {
  staker: string;
  operator: string;
  announcedOperator: string;
  lockedValue: bigint;
  unlockPeriod: bigint;
  lastCommittedPeriod: bigint;
}

const ENTRY = 80;

function uint(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(hexlify(bytes));
}

/** Decodes a packed `nodesPage` answer. */
export function decodePage(page: Uint8Array): PagedNode[] {
  if (page.length % ENTRY !== 0)
    throw new RangeError(`nodesPage answer of ${page.length} bytes is not a multiple of ${ENTRY}`);
  const nodes: PagedNode[] = [];
  for (let at = 0; at < page.length; at += ENTRY) {
    const e = page.subarray(at, at + ENTRY);
    nodes.push({
      staker: getAddress(hexlify(e.subarray(0, 20))),
      operator: getAddress(hexlify(e.subarray(20, 40))),
      announcedOperator: getAddress(hexlify(e.subarray(40, 60))),
      lockedValue: uint(e.subarray(60, 72)),
      unlockPeriod: uint(e.subarray(72, 76)),
      lastCommittedPeriod: uint(e.subarray(76, 80)),
    });
  }
  return nodes;
}

/** What makes a node eligible. */
export interface ActiveNodeOptions {
  /**
   * The node's lock must let it commit to every period before this one, e.g. a policy's (exclusive) end
   * period. A commitment to period `p` needs `unlockPeriod > p + minOperatorPeriods`, so this requires
   * `unlockPeriod ≥ lockedUntil + minOperatorPeriods`. Default: the node can commit to the next period.
   */
  lockedUntil?: bigint;
  /** Nodes per page (≤ NODE_PAGE_SIZE); default NODE_PAGE_SIZE. */
  pageSize?: number;
}

/** An eligible node: its weight for sampling and its confirmed operator (its URL and key: NodeDirectory.nodeOf). */
export interface ActiveNode extends WeightedNode {
  operator: string;
}

/** The contracts the node list is read from. */
export interface NodeSources {
  escrow: Pick<StakingEscrow, "getCurrentPeriod" | "minOperatorPeriods">;
  nodeDirectory: Pick<NodeDirectory, "nodeCount" | "nodesPage">;
}

/**
 * Announced nodes with a confirmed operator that made the announcement, a lock that lets them commit until
 * `lockedUntil`, and a commitment to the current or next period (a node that stopped committing is not
 * serving), each weighted by its locked value. The list is in the directory's order; sampling sorts it anyway.
 */
export async function loadActiveNodes(contracts: NodeSources, options: ActiveNodeOptions = {}): Promise<ActiveNode[]> {
  const pageSize = Math.min(options.pageSize ?? NODE_PAGE_SIZE, NODE_PAGE_SIZE);
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`page size must be ≥ 1, got ${pageSize}`);
  const [current, window, count] = await Promise.all([
    contracts.escrow.getCurrentPeriod(),
    contracts.escrow.minOperatorPeriods(),
    contracts.nodeDirectory.nodeCount(),
  ]);
  // Committing to the next period (current + 1) needs unlockPeriod ≥ current + 2 + window.
  const until =
    options.lockedUntil !== undefined && options.lockedUntil > current + 2n ? options.lockedUntil : current + 2n;
  const minUnlock = until + window;
  const starts: bigint[] = [];
  for (let start = 0n; start < count; start += BigInt(pageSize)) starts.push(start);
  const nodes: ActiveNode[] = [];
  for (let i = 0; i < starts.length; i += CONCURRENT_PAGES) {
    const pages = await Promise.all(
      starts.slice(i, i + CONCURRENT_PAGES).map((start) => contracts.nodeDirectory.nodesPage(start, pageSize)),
    );
    for (const page of pages) {
      for (const n of decodePage(getBytes(page))) {
        const bonded = n.operator !== ZeroAddress && n.operator === n.announcedOperator;
        const covered = n.lockedValue > 0n && n.unlockPeriod >= minUnlock;
        const committing = n.lastCommittedPeriod >= current;
        if (bonded && covered && committing) {
          nodes.push({ staker: n.staker, weight: n.lockedValue, operator: n.operator });
        }
      }
    }
  }
  return nodes;
}
