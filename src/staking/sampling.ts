// Stake-weighted sampling of `n` distinct nodes, reproducible from a seed.
//
// A client (Alice) picks the nodes of a policy with probability proportional to their locked stake, the
// way NuCypher's sampling did. The draw is a deterministic function of (candidates, n, seed), so anyone
// holding the seed can check which nodes were picked and why.
import { sha256 } from "@noble/hashes/sha2";
import { getAddress } from "ethers";
import { NotEnoughNodesError, InvalidSampleError } from "./errors";

/** A candidate node: its staker address and its weight (locked stake in wei). */
export interface WeightedNode {
  staker: string;
  weight: bigint;
}

const TWO_256 = 1n << 256n;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The EIP-55 form of a drawn address (candidates may come lower-case: see loadActiveNodes). */
function checksummed(staker: string): string {
  try {
    return getAddress(staker);
  } catch {
    throw new InvalidSampleError(`candidate ${staker} is not an address (its mixed case fails the EIP-55 checksum)`);
  }
}

/** A stream of uniform 256-bit integers: SHA-256(seed ‖ counter as 8 big-endian bytes). */
class SeededStream {
  private counter = 0n;
  constructor(private readonly seed: Uint8Array) {}

  next(): bigint {
    const input = new Uint8Array(this.seed.length + 8);
    input.set(this.seed);
    new DataView(input.buffer).setBigUint64(this.seed.length, this.counter++);
    let value = 0n;
    for (const byte of sha256(input)) value = (value << 8n) | BigInt(byte);
    return value;
  }

  /** Uniform in [0, bound), by rejection so no value is favoured. */
  below(bound: bigint): bigint {
    const limit = TWO_256 - (TWO_256 % bound);
    for (;;) {
      const r = this.next();
      if (r < limit) return r % bound;
    }
  }
}

/**
 * Picks `n` distinct nodes, each draw with probability proportional to its weight among the nodes not yet
 * picked (sampling without replacement). Candidates are put in a canonical order (by address) first, so the
 * result depends only on the set of candidates, `n` and `seed`. Nodes of zero weight are never picked.
 * Returns the stakers in the order drawn, checksummed (EIP-55): the first `n` of {@link drawNodes} with the same
 * seed.
 */
export function sampleNodes(candidates: readonly WeightedNode[], n: number, seed: Uint8Array): string[] {
  if (!Number.isInteger(n) || n < 1) throw new InvalidSampleError(`sample size must be a positive integer, got ${n}`);
  const draws = drawNodes(candidates, seed);
  if (draws.remaining < n) throw new NotEnoughNodesError(n, draws.remaining);
  return draws.take(n);
}

/** The draws of one seeded sample, taken a few at a time: `take(k)` continues where the last one stopped. */
export interface NodeDraws {
  /** The next `k` draws, checksummed, or fewer if the pool runs out (see `remaining`). */
  take(k: number): string[];
  /** Nodes not drawn yet (of non-zero weight). */
  readonly remaining: number;
}

/**
 * The whole stake-weighted draw order of `candidates` under `seed`, lazily: drawing `n` and then `k` more
 * gives the same nodes as drawing `n + k` at once, so a node found dead after the draw is replaced by the next
 * draw of the same seed, reproducibly for a given seed and candidate set. Validates like {@link sampleNodes}.
 */
export function drawNodes(candidates: readonly WeightedNode[], seed: Uint8Array): NodeDraws {
  if (seed.length === 0) throw new InvalidSampleError("seed must not be empty");
  const seen = new Set<string>();
  // Keyed by the lower-case address: the canonical order, whatever case the candidates come in.
  const pool: { key: string; staker: string; weight: bigint }[] = [];
  for (const c of candidates) {
    if (typeof c.staker !== "string" || !ADDRESS.test(c.staker)) {
      throw new InvalidSampleError(`candidate ${String(c.staker)} is not an address`);
    }
    const key = c.staker.toLowerCase();
    if (seen.has(key)) throw new InvalidSampleError(`candidate ${c.staker} is listed twice`);
    seen.add(key);
    if (c.weight < 0n) throw new InvalidSampleError(`candidate ${c.staker} has negative weight ${c.weight}`);
    if (c.weight > 0n) pool.push({ key, staker: c.staker, weight: c.weight });
  }
  pool.sort((a, b) => (a.key < b.key ? -1 : 1));

  const stream = new SeededStream(seed);
  let total = pool.reduce((sum, c) => sum + c.weight, 0n);
  return {
    get remaining() {
      return pool.length;
    },
    take(k: number): string[] {
      if (!Number.isInteger(k) || k < 0) throw new InvalidSampleError(`draw count must be a whole number, got ${k}`);
      const picked: string[] = [];
      while (picked.length < k && pool.length > 0) {
        let r = stream.below(total);
        let i = 0;
        while (r >= pool[i].weight) {
          r -= pool[i].weight;
          i++;
        }
        picked.push(checksummed(pool[i].staker));
        total -= pool[i].weight;
        pool.splice(i, 1);
      }
      return picked;
    },
  };
}
