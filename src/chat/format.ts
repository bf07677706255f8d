// The chat's wire format: a room is one append-only log of signed entries, kept by an untrusted relay.
// - `state`: the room's membership (each member's public key and public policy grant), signed by the room's
//   owner (the Alice key that owns the room key) and numbered 0, 1, 2, … ;
// - `epoch`: a fresh 32-byte epoch key wrapped to the room key in one Umbral capsule, signed by its author;
// - `message`: text sealed with an epoch key (XChaCha20-Poly1305, the room, epoch, author and time as
//   associated data), signed by its author.
// Epochs and their sealed pieces are ../stream/epoch's (the streams use the same capsule-per-epoch primitive).
// Signatures are ECDSA (Umbral's Signer) over "umbral-kms/chat/v1\n" ‖ the RFC 8785 canonical JSON of the
// entry without its signature. Everything here is public metadata or ciphertext: the relay can check
// signatures and membership, never read a message.
// Runtime-neutral (Node and browsers).
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex, hexToBytes, randomBytes } from "@noble/hashes/utils";
import { Capsule, PublicKey, Signature, type Signer } from "../umbral";
import { EpochSealError, newEpoch, openPiece, sealedPieceLength, sealPiece } from "../stream/epoch";
import { canonicalJson } from "../conditions/canonical";
import type { PolicyGrant } from "../client/grant";
import { ChatFormatError, ForgedEntryError, MessageTooLargeError } from "./errors";

export const CHAT_DOMAIN = "umbral-kms/chat/v1";
/** Most UTF-8 bytes of one message's text. */
export const MAX_MESSAGE_BYTES = 8 * 1024;
/** Most members of a room (each state entry lists them all, with their grants). */
export const MAX_MEMBERS = 64;
/** Length of a room id and of an epoch id, in bytes. */
export const ID_BYTES = 16;

export interface RoomMember {
  /** The member's receiving key (33 bytes hex): he reads with it and signs with it. */
  key: string;
  /** A name to show; chosen by the owner. */
  name: string;
  /** The member's public policy grant from the room key (what he retrieves cfrags with). */
  grant: PolicyGrant;
}

export interface RoomState {
  type: "state";
  roomId: string;
  /** 0 for the room's creation, then +1 per change. */
  seq: number;
  name: string;
  /** The room key: the policy (delegating) public key every epoch capsule is made for. */
  roomKey: string;
  /** The owner's verifying key (the Alice signer of every member's kfrags): signs states, authors entries. */
  owner: string;
  /** How long a writer keeps using one epoch key, in seconds; 0 = one capsule per message. */
  epochSeconds: number;
  members: RoomMember[];
  issuedAt: number;
  signature: string;
}

export interface EpochEntry {
  type: "epoch";
  roomId: string;
  epochId: string;
  /** The state under which the epoch was made: a membership change ends every earlier epoch. */
  stateSeq: number;
  capsule: string;
  wrappedKey: string;
  author: string;
  createdAt: number;
  signature: string;
}

export interface MessageEntry {
  type: "message";
  roomId: string;
  epochId: string;
  author: string;
  sentAt: number;
  /** nonce (24) ‖ ciphertext ‖ tag (16), as ../stream/epoch's sealPiece makes it. */
  ciphertext: string;
  signature: string;
}

export type ChatEntry = RoomState | EpochEntry | MessageEntry;

/** An entry as the relay logged it: its position in the room's log and when the relay received it. */
export interface LoggedEntry {
  seq: number;
  receivedAt: number;
  entry: ChatEntry;
}

/** What a member keeps to find and trust a room: the relay, the room id and its owner's key. */
export interface RoomRef {
  kind: "umbral-kms/chat-room";
  relay: string;
  roomId: string;
  owner: string;
  name: string;
}

export const hex = (bytes: Uint8Array): string => "0x" + bytesToHex(bytes);

/** Bytes of a 0x-hex string, or a ChatFormatError naming `what`. */
export function unhex(value: unknown, what: string, length?: number): Uint8Array {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new ChatFormatError(`${what} is not 0x-prefixed hex`);
  }
  const bytes = hexToBytes(value.slice(2));
  if (length !== undefined && bytes.length !== length) {
    throw new ChatFormatError(`${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** The public key of a 0x-hex compressed key, or a ChatFormatError naming `what`. */
export function keyOf(value: unknown, what: string): PublicKey {
  try {
    return PublicKey.fromCompressedBytes(unhex(value, what, 33));
  } catch (error) {
    if (error instanceof ChatFormatError) throw error;
    throw new ChatFormatError(`${what} is not a point on secp256k1`);
  }
}

export const keyHex = (key: PublicKey): string => hex(key.toCompressedBytes());

/** A fresh random room id. */
export const newRoomId = (): string => hex(randomBytes(ID_BYTES));

/** The bytes an entry's signature covers. */
function signedBytes(entry: Omit<ChatEntry, "signature"> & { signature?: string }): Uint8Array {
  const { signature: _omitted, ...body } = entry;
  void _omitted;
  return new TextEncoder().encode(`${CHAT_DOMAIN}\n${canonicalJson(body)}`);
}

/** Signs an entry. */
export function signEntry<T extends ChatEntry>(entry: Omit<T, "signature">, signer: Signer): T {
  return { ...entry, signature: hex(signer.sign(signedBytes(entry)).toBEBytes()) } as T;
}

/** Whether `entry` carries a valid signature by `signerKey`. */
export function hasValidSignature(entry: ChatEntry, signerKey: string): boolean {
  try {
    const signature = Signature.fromBEBytes(unhex(entry.signature, "signature", 64));
    return signature.verify(keyOf(signerKey, "signer"), signedBytes(entry));
  } catch {
    return false;
  }
}

/** Throws ForgedEntryError unless `entry` is signed by `signerKey`. */
export function checkSignature(entry: ChatEntry, signerKey: string, who: string): void {
  if (!hasValidSignature(entry, signerKey)) {
    throw new ForgedEntryError(`${entry.type} entry is not signed by ${who} (${signerKey})`);
  }
}

/** The epoch id of a capsule: the first 16 bytes of its SHA-256. */
export const epochIdOf = (capsule: Uint8Array): string => hex(sha256(capsule).subarray(0, ID_BYTES));

/** A new epoch under `state`: a random epoch key wrapped to the room key. Returns the signed entry and the key. */
export function makeEpoch(
  state: RoomState,
  author: { key: string; signer: Signer },
  now = Date.now(),
): { entry: EpochEntry; epochKey: Uint8Array } {
  const { key: epochKey, lock } = newEpoch(keyOf(state.roomKey, "room key"));
  const entry = signEntry<EpochEntry>(
    {
      type: "epoch",
      roomId: state.roomId,
      epochId: epochIdOf(unhex(lock.capsule, "capsule")),
      stateSeq: state.seq,
      capsule: lock.capsule,
      wrappedKey: lock.wrappedKey,
      author: author.key,
      createdAt: now,
    },
    author.signer,
  );
  return { entry, epochKey };
}

/** The capsule of an epoch entry (checked), and whether its id is the capsule's. */
export function epochCapsule(entry: EpochEntry): Capsule {
  const bytes = unhex(entry.capsule, "capsule");
  if (epochIdOf(bytes) !== entry.epochId.toLowerCase()) {
    throw new ChatFormatError(`epoch ${entry.epochId} does not name its capsule`);
  }
  try {
    return Capsule.fromBytes(bytes);
  } catch (error) {
    throw new ChatFormatError(`epoch ${entry.epochId} holds an invalid capsule: ${(error as Error).message}`);
  }
}

const aadOf = (m: Pick<MessageEntry, "roomId" | "epochId" | "author" | "sentAt">): Uint8Array =>
  new TextEncoder().encode(`${CHAT_DOMAIN}/message\n${m.roomId}\n${m.epochId}\n${m.author}\n${m.sentAt}`);

/** The UTF-8 bytes of `text`, or MessageTooLargeError / ChatFormatError. */
export function messageBytes(text: string): Uint8Array {
  if (typeof text !== "string" || text.length === 0) throw new ChatFormatError("a message needs some text");
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(bytes.length, MAX_MESSAGE_BYTES);
  return bytes;
}

/** Seals `text` under an epoch key and signs it. */
export function sealMessage(
  epoch: { roomId: string; epochId: string; key: Uint8Array },
  author: { key: string; signer: Signer },
  text: string,
  now = Date.now(),
): MessageEntry {
  const plaintext = messageBytes(text);
  const head = { roomId: epoch.roomId, epochId: epoch.epochId, author: author.key, sentAt: now };
  const ciphertext = sealPiece(epoch.key, aadOf(head), plaintext);
  return signEntry<MessageEntry>({ type: "message", ...head, ciphertext: hex(ciphertext) }, author.signer);
}

/** Opens a message with its epoch key; ChatFormatError if the ciphertext was tampered with. */
export function openMessage(entry: MessageEntry, epochKey: Uint8Array): string {
  const ciphertext = unhex(entry.ciphertext, "ciphertext");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(openPiece(epochKey, aadOf(entry), ciphertext));
  } catch (error) {
    if (!(error instanceof EpochSealError) && !(error instanceof TypeError)) throw error;
    throw new ChatFormatError(`message of ${entry.author} at ${entry.sentAt} does not decrypt: it was altered`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks an entry's form (fields, types, lengths) once, at the boundary; signatures and membership are
 * checked against the room's log by {@link RoomLog}. Returns it typed.
 */
export function parseEntry(value: unknown): ChatEntry {
  if (!isObject(value)) throw new ChatFormatError("an entry must be a JSON object");
  unhex(value.roomId, "roomId", ID_BYTES);
  unhex(value.signature, "signature", 64);
  switch (value.type) {
    case "state": {
      if (!isCount(value.seq)) throw new ChatFormatError("state seq must be a whole number");
      if (typeof value.name !== "string" || value.name.length > 200) {
        throw new ChatFormatError("room name must be text of at most 200 characters");
      }
      keyOf(value.roomKey, "roomKey");
      keyOf(value.owner, "owner");
      if (!isCount(value.epochSeconds)) throw new ChatFormatError("epochSeconds must be a whole number");
      if (!isCount(value.issuedAt)) throw new ChatFormatError("issuedAt must be a time in ms");
      if (!Array.isArray(value.members) || value.members.length > MAX_MEMBERS) {
        throw new ChatFormatError(`members must be a list of at most ${MAX_MEMBERS}`);
      }
      for (const m of value.members as unknown[]) {
        if (!isObject(m) || typeof m.name !== "string" || m.name.length > 200 || !isObject(m.grant)) {
          throw new ChatFormatError("each member needs a key, a name and a grant");
        }
        keyOf(m.key, "member key");
        if (String(m.grant.receivingKey).toLowerCase() !== String(m.key).toLowerCase()) {
          throw new ChatFormatError(`member ${String(m.key)}'s grant is for another key`);
        }
        if (String(m.grant.delegatingKey).toLowerCase() !== String(value.roomKey).toLowerCase()) {
          throw new ChatFormatError(`member ${String(m.key)}'s grant is not from the room key`);
        }
      }
      return value as unknown as RoomState;
    }
    case "epoch": {
      unhex(value.epochId, "epochId", ID_BYTES);
      if (!isCount(value.stateSeq)) throw new ChatFormatError("epoch stateSeq must be a whole number");
      unhex(value.capsule, "capsule");
      unhex(value.wrappedKey, "wrappedKey");
      keyOf(value.author, "author");
      if (!isCount(value.createdAt)) throw new ChatFormatError("createdAt must be a time in ms");
      epochCapsule(value as unknown as EpochEntry);
      return value as unknown as EpochEntry;
    }
    case "message": {
      unhex(value.epochId, "epochId", ID_BYTES);
      keyOf(value.author, "author");
      if (!isCount(value.sentAt)) throw new ChatFormatError("sentAt must be a time in ms");
      const ciphertext = unhex(value.ciphertext, "ciphertext");
      if (ciphertext.length > sealedPieceLength(MAX_MESSAGE_BYTES)) {
        throw new MessageTooLargeError(ciphertext.length - sealedPieceLength(0), MAX_MESSAGE_BYTES);
      }
      return value as unknown as MessageEntry;
    }
    default:
      throw new ChatFormatError(`unknown entry type ${JSON.stringify(value.type)}`);
  }
}

/** A room's log replayed in order: the state in effect, its epochs, and whether each entry may stand there. */
export class RoomLog {
  state?: RoomState;
  readonly epochs = new Map<string, EpochEntry>();

  constructor(
    readonly roomId: string,
    /** The owner's key the room must have (a member's anchor); default: the first state's. */
    private readonly owner?: string,
  ) {}

  /** Whether `key` may write under the state in effect (the owner or a member). */
  canWrite(key: string): boolean {
    const k = key.toLowerCase();
    return (
      !!this.state &&
      (this.state.owner.toLowerCase() === k || this.state.members.some((m) => m.key.toLowerCase() === k))
    );
  }

  /**
   * Checks that `entry` may follow the log so far (throws ForgedEntryError / ChatFormatError if not), then
   * applies it.
   */
  apply(entry: ChatEntry): void {
    if (entry.roomId.toLowerCase() !== this.roomId.toLowerCase()) {
      throw new ChatFormatError(`entry of room ${entry.roomId} in the log of room ${this.roomId}`);
    }
    if (entry.type === "state") {
      const owner = this.state?.owner ?? this.owner ?? entry.owner;
      if (entry.owner.toLowerCase() !== owner.toLowerCase()) {
        throw new ForgedEntryError(`room state names owner ${entry.owner}, not the room's owner ${owner}`);
      }
      checkSignature(entry, owner, "the room's owner");
      const expected = this.state ? this.state.seq + 1 : 0;
      if (entry.seq !== expected) throw new ChatFormatError(`room state ${entry.seq} where ${expected} was due`);
      if (this.state && entry.roomKey.toLowerCase() !== this.state.roomKey.toLowerCase()) {
        throw new ForgedEntryError("a room state may not change the room key");
      }
      this.state = entry;
      return;
    }
    if (!this.state) throw new ChatFormatError("the log must begin with the room's state");
    if (!this.canWrite(entry.author)) {
      throw new ForgedEntryError(`${entry.author} is not a member of room ${this.roomId} at this point`);
    }
    checkSignature(entry, entry.author, `its author`);
    if (entry.type === "epoch") {
      if (entry.stateSeq !== this.state.seq) {
        throw new ChatFormatError(
          `epoch ${entry.epochId} was made under room state ${entry.stateSeq}, not the current ${this.state.seq}`,
        );
      }
      if (this.epochs.has(entry.epochId.toLowerCase())) throw new ChatFormatError(`epoch ${entry.epochId} repeated`);
      this.epochs.set(entry.epochId.toLowerCase(), entry);
      return;
    }
    const epoch = this.epochs.get(entry.epochId.toLowerCase());
    if (!epoch) throw new ChatFormatError(`message names an unknown epoch ${entry.epochId}`);
    if (epoch.stateSeq !== this.state.seq) {
      throw new ChatFormatError(
        `message uses epoch ${entry.epochId} from before the last membership change: the writer must start a new one`,
      );
    }
  }
}
