// A member's (or the owner's) view of a room: replays the relay's log, checking every entry (./format
// RoomLog), opens each epoch once (the owner with the room's secret key; a member through his policy's nodes,
// with Bob's retrieval and verification, ../client/bob), decrypts messages, and sends: a writer reuses the
// newest epoch of the current membership while it is younger than the room's `epochSeconds`, else wraps a new
// epoch key in a new capsule. Runtime-neutral.
import { decryptOriginal, Signer, type SecretKey } from "../umbral";
import type { AliceKeys } from "../client/keys";
import { NotEnoughCFragsError, type RetrieveOptions } from "../client/bob";
import { openEpochKey } from "../stream/epoch";
import { ChatError, ChatEpochRefusedError, NotAMemberError, RelayRefusedError } from "./errors";
import {
  epochCapsule,
  keyHex,
  makeEpoch,
  openMessage,
  parseEntry,
  RoomLog,
  sealMessage,
  unhex,
  type EpochEntry,
  type LoggedEntry,
  type MessageEntry,
  type RoomRef,
  type RoomState,
} from "./format";
import { RelayClient } from "./client";

/** Who reads and writes: an author key, its signer, and how it opens an epoch key. */
export interface ChatIdentity {
  key: string;
  signer: Signer;
  /** Opens `epoch`, made under the room state `madeUnder`; `current` is the state in effect now. */
  openEpoch(epoch: EpochEntry, madeUnder: RoomState, current: RoomState): Promise<Uint8Array>;
}

/** The label of a room's key among its owner's policy keys. */
export const roomLabel = (roomId: string): string => `chat/${roomId.toLowerCase()}`;

/** The room's owner: reads every epoch with the room's secret key (no nodes), signs as the Alice signer. */
export function ownerIdentity(keys: AliceKeys, roomId: string): ChatIdentity {
  const roomSk = keys.delegatingKey(roomLabel(roomId));
  const signer = keys.signer();
  return {
    key: keyHex(signer.verifyingKey()),
    signer,
    async openEpoch(epoch) {
      return decryptOriginal(roomSk, epochCapsule(epoch), unhex(epoch.wrappedKey, "wrappedKey"));
    },
  };
}

/**
 * A member: opens an epoch with cfrags from the nodes of his own policy: the grant the room lists for his key
 * now, else the one it listed when the epoch was made. A member who joined later thus opens the epochs from
 * before his join too (his policy is from the room key, and the nodes re-encrypt every capsule under it: the
 * room grants its whole history, docs/chat.md). A revoked or ended policy is refused by the nodes:
 * ChatEpochRefusedError.
 */
export function memberIdentity(secret: SecretKey, options: RetrieveOptions = {}): ChatIdentity {
  const key = keyHex(secret.publicKey());
  return {
    key,
    signer: new Signer(secret),
    async openEpoch(epoch, state, current) {
      const mine = (s: RoomState) => s.members.find((m) => m.key.toLowerCase() === key.toLowerCase());
      const member = mine(current) ?? mine(state);
      if (!member) {
        throw new ChatEpochRefusedError(
          state.roomId,
          epoch.epochId,
          `${key} is not a member of the room now and was not when the epoch was made (removed, or never invited)`,
        );
      }
      epochCapsule(epoch); // checks the capsule, and that the epoch's id is its own
      try {
        return await openEpochKey(member.grant, secret, epoch, options);
      } catch (error) {
        if (!(error instanceof NotEnoughCFragsError)) throw error;
        const revoked = error.failures.some((f) => /revoked|ended at period/.test(f.reason));
        throw new ChatEpochRefusedError(
          state.roomId,
          epoch.epochId,
          (revoked
            ? "the nodes refuse your policy: you were removed from the room (or your membership ended); "
            : "the nodes did not re-encrypt it; ") + error.message,
          { cause: error },
        );
      }
    },
  };
}

/** A message as a member sees it. */
export interface ChatMessage {
  seq: number;
  author: string;
  /** The author's name in the room state ("owner" for the owner). */
  authorName: string;
  sentAt: number;
  receivedAt: number;
  epochId: string;
  /** The text, or undefined if its epoch could not be opened or it did not decrypt (then `error` says why). */
  text?: string;
  error?: ChatError;
}

/** An entry of the log that was not accepted (forged, malformed, out of place), and why. */
export interface RejectedEntry {
  seq: number;
  reason: string;
}

export interface RoomOptions {
  /** How long one epoch serves, overriding the room's `epochSeconds` for this writer (0: one per message). */
  epochSeconds?: number;
  /** The clock (ms); tests and benchmarks pass their own. */
  now?: () => number;
  onProgress?: (message: string) => void;
}

export class ChatRoom {
  readonly relay: RelayClient;
  readonly log: RoomLog;
  readonly messages: ChatMessage[] = [];
  readonly rejected: RejectedEntry[] = [];
  /** Epochs opened (epochId → key) and refused (epochId → why). */
  private readonly keys = new Map<string, Uint8Array>();
  private readonly refused = new Map<string, ChatError>();
  private readonly states = new Map<number, RoomState>();
  private readonly pending: { message: ChatMessage; entry: MessageEntry; epoch: EpochEntry }[] = [];
  private last = -1;

  constructor(
    readonly ref: Pick<RoomRef, "relay" | "roomId" | "owner">,
    readonly identity: ChatIdentity,
    private readonly options: RoomOptions = {},
  ) {
    this.relay = new RelayClient(ref.relay);
    this.log = new RoomLog(ref.roomId.toLowerCase(), ref.owner);
  }

  get state(): RoomState {
    if (!this.log.state) throw new ChatError(`room ${this.ref.roomId} has not been read yet`);
    return this.log.state;
  }

  /** The number of cfrag retrievals (one per epoch opened through the nodes) so far. */
  get epochsOpened(): number {
    return this.keys.size;
  }

  private nameOf(key: string): string {
    const k = key.toLowerCase();
    if (this.log.state?.owner.toLowerCase() === k) return "owner";
    return this.log.state?.members.find((m) => m.key.toLowerCase() === k)?.name ?? key;
  }

  private async epochKey(epoch: EpochEntry): Promise<Uint8Array> {
    const id = epoch.epochId.toLowerCase();
    const known = this.keys.get(id);
    if (known) return known;
    const refusal = this.refused.get(id);
    if (refusal) throw refusal;
    try {
      const key = await this.identity.openEpoch(epoch, this.states.get(epoch.stateSeq)!, this.state);
      this.keys.set(id, key);
      return key;
    } catch (error) {
      const refusal =
        error instanceof ChatError
          ? error
          : new ChatEpochRefusedError(this.ref.roomId, epoch.epochId, (error as Error).message, { cause: error });
      this.refused.set(id, refusal);
      throw refusal;
    }
  }

  /**
   * Checks and applies one logged entry; resolves with the message it is, if it is one, decrypted unless
   * `defer` (then {@link openPending} decrypts it, once the log is read to its end and the state in effect
   * is the latest).
   */
  async apply(logged: LoggedEntry, defer = false): Promise<ChatMessage | undefined> {
    if (logged.seq <= this.last) return undefined;
    this.last = logged.seq;
    let entry;
    try {
      entry = parseEntry(logged.entry);
      this.log.apply(entry);
    } catch (error) {
      this.rejected.push({ seq: logged.seq, reason: (error as Error).message });
      return undefined;
    }
    if (entry.type === "state") this.states.set(entry.seq, entry);
    if (entry.type !== "message") return undefined;
    const message: ChatMessage = {
      seq: logged.seq,
      author: entry.author,
      authorName: this.nameOf(entry.author),
      sentAt: entry.sentAt,
      receivedAt: logged.receivedAt,
      epochId: entry.epochId,
    };
    this.messages.push(message);
    this.pending.push({ message, entry, epoch: this.log.epochs.get(entry.epochId.toLowerCase())! });
    if (!defer) await this.openPending();
    return message;
  }

  /** Decrypts the messages applied with `defer`, each epoch opened once. */
  async openPending(): Promise<void> {
    const pending = this.pending.splice(0);
    for (const { message, entry, epoch } of pending) {
      try {
        message.text = openMessage(entry, await this.epochKey(epoch));
      } catch (error) {
        if (!(error instanceof ChatError)) throw error;
        message.error = error;
      }
    }
  }

  /** Reads the log from where the last read ended; resolves with the new messages. */
  async sync(): Promise<ChatMessage[]> {
    const added: ChatMessage[] = [];
    for await (const logged of this.relay.history(this.ref.roomId, this.last)) {
      const message = await this.apply(logged, true);
      if (message) added.push(message);
    }
    await this.openPending();
    if (!this.log.state) throw new ChatError(`room ${this.ref.roomId} on ${this.relay.url} holds no valid state`);
    return added;
  }

  /** The epoch a new message goes in: the newest of this membership still young enough and openable, or a new one. */
  private async currentEpoch(): Promise<{ epochId: string; key: Uint8Array }> {
    const state = this.state;
    const now = this.options.now?.() ?? Date.now();
    const seconds = this.options.epochSeconds ?? state.epochSeconds;
    if (seconds > 0) {
      const candidates = [...this.log.epochs.values()].filter(
        (e) => e.stateSeq === state.seq && now - e.createdAt < seconds * 1000 && e.createdAt <= now + 60_000,
      );
      const newest = candidates.sort((a, b) => b.createdAt - a.createdAt)[0];
      if (newest) {
        try {
          return { epochId: newest.epochId, key: await this.epochKey(newest) };
        } catch {
          // An epoch this writer cannot open: start its own.
        }
      }
    }
    const { entry, epochKey } = makeEpoch(state, this.identity, now);
    await this.relay.post(this.ref.roomId, entry);
    this.keys.set(entry.epochId.toLowerCase(), epochKey);
    this.options.onProgress?.(`new epoch ${entry.epochId}`);
    return { epochId: entry.epochId, key: epochKey };
  }

  /** Sends `text`; resolves with the relay's sequence number. A membership change meanwhile is retried once. */
  async send(text: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      await this.sync();
      if (!this.log.canWrite(this.identity.key)) {
        throw new NotAMemberError(
          `${this.identity.key} is not a member of room ${this.ref.roomId} (removed, or never invited)`,
        );
      }
      const epoch = await this.currentEpoch();
      const entry = sealMessage(
        { roomId: this.state.roomId, ...epoch },
        this.identity,
        text,
        this.options.now?.() ?? Date.now(),
      );
      try {
        return (await this.relay.post(this.ref.roomId, entry)).seq;
      } catch (error) {
        if (attempt === 0 && error instanceof RelayRefusedError && error.code === "STALE_EPOCH") continue;
        throw error;
      }
    }
  }

  /** New messages as they are logged, until `signal` aborts. */
  async *follow(signal: AbortSignal): AsyncGenerator<ChatMessage> {
    for await (const logged of this.relay.events(this.ref.roomId, this.last, signal)) {
      const message = await this.apply(logged);
      if (message) yield message;
    }
  }
}
