// How conditions read the chain: one interface (the evaluator needs a block, a call and an account's code) and
// its implementation over the node's own ethers provider. Every evaluation pins one block, the latest, and reads
// everything at it; answers are cached by (block, call) in a bounded LRU, so many requests against the same
// block cost one RPC call per distinct read. Errors are not cached.
import { LRUCache } from "lru-cache";
import type { Provider } from "ethers";

/** The block an evaluation reads at. */
export interface BlockRef {
  number: number;
  /** Unix seconds. */
  timestamp: number;
}

/** What the evaluator reads. Every method may throw: the evaluator classifies what it throws. */
export interface ChainReader {
  /** The chain this reader reads; conditions for another chain cannot be evaluated. */
  readonly chainId: bigint;
  latestBlock(): Promise<BlockRef>;
  /** `eth_call` of `data` to `to` at block `block`: the return bytes (0x-hex); throws on a revert. */
  call(block: number, to: string, data: string): Promise<string>;
  /** `eth_getCode` of `address` at block `block` (0x-hex, "0x" for an account without code). */
  code(block: number, address: string): Promise<string>;
}

export interface ProviderReaderOptions {
  /** Most (block, call) answers kept; default 10 000. */
  cacheSize?: number;
}

/** A ChainReader over an ethers provider (the node's own RPC connection). */
export class ProviderReader implements ChainReader {
  private readonly cache: LRUCache<string, string>;
  /** RPC reads made (cache misses), for metrics and tests. */
  reads = 0;

  constructor(
    private readonly provider: Pick<Provider, "getBlock" | "call" | "getCode">,
    readonly chainId: bigint,
    options: ProviderReaderOptions = {},
  ) {
    this.cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
  }

  async latestBlock(): Promise<BlockRef> {
    this.reads++;
    const block = await this.provider.getBlock("latest");
    if (!block) throw new Error("the RPC returned no latest block");
    return { number: block.number, timestamp: block.timestamp };
  }

  call(block: number, to: string, data: string): Promise<string> {
    return this.cached(`call:${block}:${to.toLowerCase()}:${data.toLowerCase()}`, () =>
      this.provider.call({ to, data, blockTag: block }),
    );
  }

  code(block: number, address: string): Promise<string> {
    return this.cached(`code:${block}:${address.toLowerCase()}`, () => this.provider.getCode(address, block));
  }

  private async cached(key: string, read: () => Promise<string>): Promise<string> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    this.reads++;
    const value = await read();
    this.cache.set(key, value);
    return value;
  }
}
