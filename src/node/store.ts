// The node's durable kfrag store, on LevelDB (classic-level). Every write is synced to disk before it is
// acknowledged, so a kfrag the node accepted survives a kill -9 and a restart.
import { ClassicLevel } from "classic-level";

/** A kfrag the node holds for one policy, with the keys it was verified under. */
export interface StoredKFrag {
  /** 0x-prefixed 32-byte policy id. */
  policyId: string;
  /** The kfrag's MessagePack bytes (`KeyFrag.toBytes()`), hex. */
  kfrag: string;
  /** Compressed public keys, hex: Alice's delegating key, Bob's receiving key, Alice's verifying key. */
  delegatingKey: string;
  receivingKey: string;
  verifyingKey: string;
  /** Unix milliseconds when the node accepted it. */
  receivedAt: number;
}

/** Raised when the store is used after `close()` or cannot be opened. */
export class KFragStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KFragStoreError";
  }
}

const KEY_PREFIX = "kfrag:";

/** Durable map from policy id to the kfrag this node holds for it. */
export class KFragStore {
  private constructor(private readonly db: ClassicLevel<string, string>) {}

  /** Opens (creating if needed) the store in directory `dir`. */
  static async open(dir: string): Promise<KFragStore> {
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: "utf8" });
    try {
      await db.open();
    } catch (cause) {
      throw new KFragStoreError(`cannot open kfrag store at ${dir}: ${(cause as Error).message}`, { cause });
    }
    return new KFragStore(db);
  }

  /** Stores `record`, replacing any kfrag held for the same policy; resolves once it is on disk. */
  async put(record: StoredKFrag): Promise<void> {
    await this.db.put(KEY_PREFIX + record.policyId.toLowerCase(), JSON.stringify(record), { sync: true });
  }

  /** The kfrag held for `policyId`, or undefined. */
  async get(policyId: string): Promise<StoredKFrag | undefined> {
    const value = await this.db.get(KEY_PREFIX + policyId.toLowerCase());
    return value === undefined ? undefined : (JSON.parse(value) as StoredKFrag);
  }

  /** Forgets the kfrag for `policyId` (after revocation or expiry); resolves once it is on disk. */
  async delete(policyId: string): Promise<void> {
    await this.db.del(KEY_PREFIX + policyId.toLowerCase(), { sync: true });
  }

  /** Number of kfrags held. Walks the store: for status pages, not hot paths. */
  async count(): Promise<number> {
    let n = 0;
    for await (const _key of this.db.keys({ gte: KEY_PREFIX, lt: KEY_PREFIX + "\xff" })) n++;
    return n;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
