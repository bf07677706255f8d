// Reads the nodes eligible for sampling from the chain: every staker that announced a node in the NodeDirectory,
// read a page (up to 1,000 nodes with their stake state) per call, kept if it is active now, weighted by its
// locked stake. 10,000 nodes cost ten `eth_call`s, several in flight at once, instead of an event scan from
// block 0 and one call per staker. No event is read at all: the directory's list is contract state.
import { hexToBytes } from "@noble/hashes/utils";
import { getAddress } from "ethers";
import type { NodeDirectory, StakingEscrow } from "../../typechain-types";
import type { WeightedNode } from "./sampling";

/**
 * Nodes per `nodesPage` call: the directory's MAX_PAGE. A full page costs about 7.8M gas of `eth_call` (three
 * cold storage slots per node), under the 2^24 (16.7M) per-transaction cap of EIP-7825, which Hardhat applies to
 * `eth_call` too, and far under the 50M `eth_call` cap that geth and erigon apply by default; its answer is 80 kB.
 */
export const NODE_PAGE_SIZE = 1000;
/** Pages in flight at once: enough to hide round trips, few enough for a public endpoint's rate limit. */
export const CONCURRENT_PAGES = 4;
/** Smallest page a refused call is split down to before the error is passed on. */
const MIN_SPLIT_PAGE = 50;

/** One node of a `nodesPage`: 80 bytes (contracts/interfaces/INodeDirectory.sol). */
export interface PagedNode {
  staker: string;
  /** The confirmed operator, ZeroAddress if none. */
  operator: string;
  /** The operator that made the announcement; ZeroAddress when not read (no confirmed operator or no lock). */
  announcedOperator: string;
  lockedValue: bigint;
  unlockPeriod: bigint;
  lastCommittedPeriod: bigint;
}

const ENTRY = 80;

/** Raised when a `nodesPage` answer is not a whole number of 80-byte entries, or longer than was asked for. */
export class MalformedPageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedPageError";
  }
}

function checkPage(page: Uint8Array, asked?: number): void {
  if (page.length % ENTRY !== 0) {
    throw new MalformedPageError(`nodesPage answer of ${page.length} bytes is not a multiple of ${ENTRY}`);
  }
  if (asked !== undefined && page.length / ENTRY > asked) {
    throw new MalformedPageError(`nodesPage answered ${page.length / ENTRY} nodes where at most ${asked} were asked`);
  }
}

/**
 * The bytes of a `nodesPage` answer (0x-hex). noble's decoder: ethers' `getBytes` parses two digits at a time
 * through `parseInt`, about 10 ms for a full page's 160,000 digits here, a tenth of the call itself.
 */
function pageBytes(answer: string): Uint8Array {
  if (typeof answer !== "string" || !answer.startsWith("0x")) {
    throw new MalformedPageError(
      `nodesPage answered ${typeof answer === "string" ? "a string that is not 0x-hex" : typeof answer}`,
    );
  }
  try {
    return hexToBytes(answer.slice(2));
  } catch (error) {
    throw new MalformedPageError(`nodesPage answered malformed hex: ${(error as Error).message}`);
  }
}

/** Decodes a packed `nodesPage` answer. */
export function decodePage(page: Uint8Array): PagedNode[] {
  checkPage(page);
  const nodes: PagedNode[] = [];
  for (let at = 0; at < page.length; at += ENTRY) {
    const e = page.subarray(at, at + ENTRY);
    nodes.push({
      staker: getAddress(lowerAddress(e, 0)),
      operator: getAddress(lowerAddress(e, 20)),
      announcedOperator: getAddress(lowerAddress(e, 40)),
      lockedValue: readUint96(e, 60),
      unlockPeriod: BigInt(readUint32(e, 72)),
      lastCommittedPeriod: BigInt(readUint32(e, 76)),
    });
  }
  return nodes;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Whether bytes [a, a+20) and [b, b+20) of `page` hold the same address. */
function sameAddress(page: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 20; i++) if (page[a + i] !== page[b + i]) return false;
  return true;
}

function isZero(page: Uint8Array, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (page[at + i] !== 0) return false;
  return true;
}

/** What makes a node eligible. */
export interface ActiveNodeOptions {
  /**
   * The node's lock must let it commit to every period before this one, e.g. a policy's (exclusive) end
   * period. A commitment to period `p` needs `unlockPeriod > p + minOperatorPeriods`, so this requires
   * `unlockPeriod ≥ lockedUntil + minOperatorPeriods`. Default: the node can commit to the next period.
   */
  lockedUntil?: bigint;
  /** Nodes per page (1 to NODE_PAGE_SIZE); default NODE_PAGE_SIZE. */
  pageSize?: number;
  /** Pages in flight at once (≥ 1); default CONCURRENT_PAGES. */
  concurrency?: number;
}

/**
 * An eligible node: its weight for sampling and its confirmed operator (its URL and key: NodeDirectory.nodeOf).
 * Both addresses are lower-case hex: an EIP-55 checksum costs a keccak per address (about a second for the
 * 20,000 addresses of 10,000 nodes here), and only the few nodes sampled need one. {@link drawNodes} returns its
 * draws checksummed; pass anything else shown to a user through `getAddress`.
 */
export interface ActiveNode extends WeightedNode {
  operator: string;
}

/** The contracts the node list is read from. */
export interface NodeSources {
  escrow: Pick<StakingEscrow, "getCurrentPeriod" | "minOperatorPeriods">;
  nodeDirectory: Pick<NodeDirectory, "nodeCount" | "nodesPage">;
}

/** Whether a page call failed for its size (gas cap, answer size, timeout) rather than for a reason that stays. */
function mayBeTooBig(error: unknown): boolean {
  // A revert carries data: the directory's own errors (a page over MAX_PAGE) do not go away with smaller pages.
  const e = error as { code?: unknown; data?: unknown };
  return !(e.code === "CALL_EXCEPTION" && typeof e.data === "string" && e.data.length > 2);
}

/**
 * Announced nodes with a confirmed operator that made the announcement, a lock that lets them commit until
 * `lockedUntil`, and a commitment to the current or next period (a node that stopped committing is not
 * serving), each weighted by its locked value. The list is in the directory's order; sampling sorts it anyway.
 * Pages are read up to `concurrency` at once, each at the latest block; a page call that an endpoint refuses (its
 * gas cap, answer size or time limit) is retried as two half pages, down to pages of 50 nodes.
 */
export async function loadActiveNodes(contracts: NodeSources, options: ActiveNodeOptions = {}): Promise<ActiveNode[]> {
  const pageSize = options.pageSize ?? NODE_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > NODE_PAGE_SIZE) {
    throw new RangeError(`page size must be an integer from 1 to ${NODE_PAGE_SIZE}, got ${pageSize}`);
  }
  const concurrency = options.concurrency ?? CONCURRENT_PAGES;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const [current, window, count] = await Promise.all([
    contracts.escrow.getCurrentPeriod(),
    contracts.escrow.minOperatorPeriods(),
    contracts.nodeDirectory.nodeCount(),
  ]);
  // Committing to the next period (current + 1) needs unlockPeriod ≥ current + 2 + window.
  const until =
    options.lockedUntil !== undefined && options.lockedUntil > current + 2n ? options.lockedUntil : current + 2n;
  const minUnlock = until + window;

  const total = Number(count);
  const starts: number[] = [];
  for (let start = 0; start < total; start += pageSize) starts.push(start);
  const pages: ActiveNode[][] = new Array<ActiveNode[]>(starts.length);

  const readPage = async (start: number, size: number): Promise<ActiveNode[]> => {
    let answer: string;
    try {
      answer = await contracts.nodeDirectory.nodesPage(start, size);
    } catch (error) {
      if (size < 2 * MIN_SPLIT_PAGE || !mayBeTooBig(error)) throw error;
      const half = Math.ceil(size / 2);
      const [a, b] = await Promise.all([readPage(start, half), readPage(start + half, size - half)]);
      return [...a, ...b];
    }
    const page = pageBytes(answer);
    checkPage(page, size);
    return activeOf(page, current, minUnlock);
  };

  // A fixed pool of workers, each taking the next page as soon as its last one is in.
  let next = 0;
  const worker = async () => {
    while (next < starts.length) {
      const i = next++;
      pages[i] = await readPage(starts[i], Math.min(pageSize, total - starts[i]));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, starts.length) }, worker));
  return pages.flat();
}

/** Two lower-case hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The 20 bytes at `at` as a lower-case 0x-address. */
function lowerAddress(page: Uint8Array, at: number): string {
  let out = "0x";
  for (let i = at; i < at + 20; i++) out += HEX[page[i]];
  return out;
}

/** The 12-byte big-endian unsigned integer at `at` (a uint96 amount), as three 32-bit words. */
function readUint96(page: Uint8Array, at: number): bigint {
  return (
    (BigInt(readUint32(page, at)) << 64n) | (BigInt(readUint32(page, at + 4)) << 32n) | BigInt(readUint32(page, at + 8))
  );
}

/** The eligible nodes of one packed page, decoded straight from the bytes (see {@link ActiveNode} on case). */
function activeOf(page: Uint8Array, current: bigint, minUnlock: bigint): ActiveNode[] {
  const nodes: ActiveNode[] = [];
  const minUnlockNumber = Number(minUnlock);
  const currentNumber = Number(current);
  for (let at = 0; at < page.length; at += ENTRY) {
    // The operator must be confirmed (non-zero) and the one that announced.
    if (isZero(page, at + 20, 20) || !sameAddress(page, at + 20, at + 40)) continue;
    if (isZero(page, at + 60, 12)) continue;
    // Periods are uint32: exact as numbers.
    if (readUint32(page, at + 72) < minUnlockNumber || readUint32(page, at + 76) < currentNumber) continue;
    nodes.push({
      staker: lowerAddress(page, at),
      weight: readUint96(page, at + 60),
      operator: lowerAddress(page, at + 20),
    });
  }
  return nodes;
}
