// The node's durable kfrag store, on LevelDB (classic-level). Every write is synced to disk before it is
// acknowledged, so a kfrag the node accepted survives a kill -9 and a restart.
//
// Beside the LevelDB directory lives a journal (`<dir>.journal`, one `+policyId` or `-policyId` line per
// change, synced before a write is acknowledged). LevelDB drops records of a damaged log silently on open;
// the journal says what the store should hold, so a kfrag the node acknowledged and then lost is detected
// (`lost()`, and `onLost` listeners) instead of surfacing later as a 404.
import { ClassicLevel } from "classic-level";
import { existsSync, readFileSync } from "node:fs";
import { open, rename, type FileHandle } from "node:fs/promises";
import type { SignedConditionSet } from "../conditions";

/** A kfrag the node holds for one policy, with the keys it was verified under. */
export interface StoredKFrag {
  /** 0x-prefixed 16-byte policy id. */
  policyId: string;
  /** The kfrag's MessagePack bytes (`KeyFrag.toBytes()`), hex. */
  kfrag: string;
  /** Compressed public keys, hex: Alice's delegating key, Bob's receiving key, Alice's verifying key. */
  delegatingKey: string;
  receivingKey: string;
  verifyingKey: string;
  /** Unix milliseconds when the node accepted it. */
  receivedAt: number;
  /** Version of the kfrag set the owner signed; a delivery of a lower version is refused. 0 if not recorded. */
  version?: number;
  /** The signed delivery digest (hex) this kfrag came in: the same delivery sent again is not a conflict. */
  deliveryId?: string;
  /** The policy's end period (decimal) when the kfrag was accepted: the sweep deletes it from then on. */
  endPeriod?: string;
  /**
   * The policy's access conditions as the owner signed them (checked against the on-chain commitment when they
   * arrived, with the kfrag or alone): every re-encryption request is judged by them. Absent: none.
   */
  conditions?: SignedConditionSet;
}

/** What `putConditions` did: stored the set, held it already, refused an older one, or held no kfrag for it. */
export type ConditionsPutOutcome =
  | { outcome: "stored" }
  | { outcome: "unchanged" }
  | { outcome: "stale"; heldVersion: number }
  | { outcome: "no-kfrag" };

/** Raised when the store is used after `close()` or cannot be opened. */
export class KFragStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KFragStoreError";
  }
}

/** What `putNewer` did: stored it, already held exactly this delivery, or refused an older/conflicting one. */
export type PutOutcome =
  { outcome: "stored" } | { outcome: "unchanged" } | { outcome: "stale" | "conflict"; held: StoredKFrag };

const KEY_PREFIX = "kfrag:";
const DELETED_KEY = "meta:deleted";
const SWEPT_BLOCK_KEY = "meta:sweptBlock";
const ID = /^0x[0-9a-f]+$/;

/** Durable map from policy id to the kfrag this node holds for it. */
export class KFragStore {
  private readonly lostIds = new Set<string>();
  private readonly lostListeners: ((policyId: string) => void)[] = [];
  /** One change per policy at a time: compare-and-put, delete and the journal line stay in order. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Journal appends (and compaction) in order. */
  private journalQueue: Promise<unknown> = Promise.resolve();
  private journalLines: number;

  private constructor(
    private readonly db: ClassicLevel<string, string>,
    private journal: FileHandle,
    private readonly journalPath: string,
    /** Policy ids held (in LevelDB now), lower case. */
    private readonly held: Set<string>,
    lost: string[],
    private deletions: number,
  ) {
    for (const id of lost) this.lostIds.add(id);
    this.journalLines = held.size + lost.length;
  }

  /**
   * Opens (creating if needed) the store in directory `dir` and its journal (default `<dir>.journal`), and
   * compares them: a policy the journal lists but LevelDB no longer holds is reported by `lost()`.
   */
  static async open(dir: string, options: { journalPath?: string } = {}): Promise<KFragStore> {
    const journalPath = options.journalPath ?? `${dir}.journal`;
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: "utf8" });
    try {
      await db.open();
    } catch (cause) {
      throw new KFragStoreError(`cannot open kfrag store at ${dir}: ${(cause as Error).message}`, { cause });
    }
    try {
      const held = new Set<string>();
      for await (const key of db.keys({ gte: KEY_PREFIX, lt: KEY_PREFIX + "\xff" })) {
        held.add(key.slice(KEY_PREFIX.length));
      }
      // No journal yet (a new store, or one from before journals): what LevelDB holds is what it should hold.
      const expected = existsSync(journalPath) ? readJournal(journalPath) : new Set(held);
      const lost = [...expected].filter((id) => !held.has(id));
      // A policy LevelDB holds but the journal does not list was written just before a crash (put, then the
      // journal line): it is kept. The journal is rewritten compactly, still listing the lost ones.
      const journal = await writeJournal(journalPath, [...held, ...lost]);
      const deleted = Number((await db.get(DELETED_KEY)) ?? "0");
      return new KFragStore(db, journal, journalPath, held, lost, deleted);
    } catch (cause) {
      await db.close();
      throw new KFragStoreError(`cannot open kfrag store at ${dir}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Runs `task` after every earlier change of `policyId`. */
  private locked<T>(policyId: string, task: () => Promise<T>): Promise<T> {
    const before = this.locks.get(policyId) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(policyId, tail);
    void tail.then(() => this.locks.get(policyId) === tail && this.locks.delete(policyId));
    return run;
  }

  /** Appends `line` to the journal and syncs it; compacts the journal when it has grown well past the store. */
  private appendJournal(line: string): Promise<void> {
    const task = async () => {
      await this.journal.appendFile(line + "\n");
      await this.journal.datasync();
      if (++this.journalLines > 2 * (this.held.size + this.lostIds.size) + 1024) {
        await this.journal.close();
        this.journal = await writeJournal(this.journalPath, [...this.held, ...this.lostIds]);
        this.journalLines = this.held.size + this.lostIds.size;
      }
    };
    const run = this.journalQueue.then(task, task);
    this.journalQueue = run.catch(() => undefined);
    return run;
  }

  private async write(id: string, record: StoredKFrag): Promise<void> {
    await this.db.put(KEY_PREFIX + id, JSON.stringify({ ...record, policyId: id }), { sync: true });
    const isNew = !this.held.has(id);
    this.held.add(id);
    this.lostIds.delete(id);
    if (isNew) await this.appendJournal("+" + id);
  }

  /** Stores `record`, replacing any kfrag held for the same policy; resolves once it is on disk. */
  put(record: StoredKFrag): Promise<void> {
    const id = record.policyId.toLowerCase();
    return this.locked(id, () => this.write(id, record));
  }

  /**
   * Stores `record` unless the store holds a newer kfrag set for the policy: a lower `version` is "stale", the
   * same version from a different delivery a "conflict", the same delivery again "unchanged".
   */
  putNewer(record: StoredKFrag): Promise<PutOutcome> {
    const id = record.policyId.toLowerCase();
    return this.locked(id, async (): Promise<PutOutcome> => {
      const held = await this.get(id);
      if (held) {
        const heldVersion = held.version ?? 0;
        const version = record.version ?? 0;
        if (version < heldVersion) return { outcome: "stale", held };
        if (version === heldVersion) {
          return held.deliveryId === record.deliveryId ? { outcome: "unchanged" } : { outcome: "conflict", held };
        }
      }
      await this.write(id, record);
      return { outcome: "stored" };
    });
  }

  /**
   * Records a new end period for the kfrag held for `policyId` (its policy was extended); false if none is held.
   * The kfrag itself, its version and delivery are unchanged.
   */
  setEndPeriod(policyId: string, endPeriod: string): Promise<boolean> {
    const id = policyId.toLowerCase();
    return this.locked(id, async () => {
      const held = await this.get(id);
      if (!held) return false;
      await this.db.put(KEY_PREFIX + id, JSON.stringify({ ...held, endPeriod }), { sync: true });
      return true;
    });
  }

  /**
   * Replaces the condition set held with the kfrag of `policyId` by `set` (already verified by the caller) unless
   * the held one is newer; the same version again is "unchanged" (the chain commits to one set per version).
   */
  putConditions(policyId: string, set: SignedConditionSet): Promise<ConditionsPutOutcome> {
    const id = policyId.toLowerCase();
    return this.locked(id, async (): Promise<ConditionsPutOutcome> => {
      const held = await this.get(id);
      if (!held) return { outcome: "no-kfrag" };
      const heldVersion = held.conditions?.version ?? 0;
      if (set.version < heldVersion) return { outcome: "stale", heldVersion };
      if (set.version === heldVersion) return { outcome: "unchanged" };
      await this.db.put(KEY_PREFIX + id, JSON.stringify({ ...held, conditions: set }), { sync: true });
      return { outcome: "stored" };
    });
  }

  /** The kfrag held for `policyId`, or undefined. */
  async get(policyId: string): Promise<StoredKFrag | undefined> {
    const id = policyId.toLowerCase();
    const value = await this.db.get(KEY_PREFIX + id);
    if (value === undefined) {
      if (this.held.has(id)) this.markLost(id);
      return undefined;
    }
    return JSON.parse(value) as StoredKFrag;
  }

  /** Whether the store holds a kfrag for `policyId` (in memory: no disk read). */
  has(policyId: string): boolean {
    return this.held.has(policyId.toLowerCase());
  }

  /** Policy ids of every kfrag held, and of every kfrag lost. */
  policyIds(): string[] {
    return [...this.held, ...this.lostIds];
  }

  /**
   * Forgets the kfrag for `policyId` (after revocation or expiry); resolves once it is on disk, true if a kfrag
   * was deleted (and counted in `deleted()`). A lost kfrag's policy is forgotten too, uncounted.
   */
  delete(policyId: string): Promise<boolean> {
    const id = policyId.toLowerCase();
    return this.locked(id, async () => {
      const wasHeld = this.held.has(id);
      if (!wasHeld && !this.lostIds.has(id)) return false;
      // Journal first: a crash in between leaves an unlisted kfrag (kept, swept again), never a false "lost".
      await this.appendJournal("-" + id);
      this.held.delete(id);
      this.lostIds.delete(id);
      if (!wasHeld) return false;
      this.deletions++;
      await this.db.batch(
        [
          { type: "del", key: KEY_PREFIX + id },
          { type: "put", key: DELETED_KEY, value: String(this.deletions) },
        ],
        { sync: true },
      );
      return true;
    });
  }

  /** Number of kfrags held (kept in memory, not a walk of the store). */
  async count(): Promise<number> {
    return this.held.size;
  }

  /** Kfrags deleted because their policy was revoked or ended, over the store's life. */
  deleted(): number {
    return this.deletions;
  }

  /** Policy ids whose kfrag the node acknowledged but no longer holds (a damaged store): re-delivery needed. */
  lost(): string[] {
    return [...this.lostIds];
  }

  /** Calls `listener` for every kfrag found lost after open (those lost before are in `lost()`). */
  onLost(listener: (policyId: string) => void): void {
    this.lostListeners.push(listener);
  }

  private markLost(id: string): void {
    this.held.delete(id);
    if (this.lostIds.has(id)) return;
    this.lostIds.add(id);
    for (const listener of this.lostListeners) listener(id);
  }

  /** The last block the revocation sweep has looked at, if any. */
  async sweptBlock(): Promise<number | undefined> {
    const value = await this.db.get(SWEPT_BLOCK_KEY);
    return value === undefined ? undefined : Number(value);
  }

  async setSweptBlock(block: number): Promise<void> {
    await this.db.put(SWEPT_BLOCK_KEY, String(block), { sync: true });
  }

  async close(): Promise<void> {
    await this.journalQueue;
    await this.journal.close().catch(() => undefined);
    await this.db.close();
  }
}

/** The policy ids a journal lists; a torn last line (a crash mid-append) or a foreign line is ignored. */
function readJournal(file: string): Set<string> {
  const ids = new Set<string>();
  const lines = readFileSync(file, "utf8").split("\n");
  lines.pop(); // what follows the last newline: empty, or a line torn by a crash
  for (const line of lines) {
    const id = line.slice(1);
    if (!ID.test(id)) continue;
    if (line[0] === "+") ids.add(id);
    else if (line[0] === "-") ids.delete(id);
  }
  return ids;
}

/** Replaces the journal atomically with one `+id` line per id and returns it opened for appending. */
async function writeJournal(file: string, ids: string[]): Promise<FileHandle> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, "w", 0o600);
  try {
    await handle.writeFile(ids.map((id) => `+${id}\n`).join(""));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  return open(file, "a");
}
