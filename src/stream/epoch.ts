// A capsule per epoch: small pieces of data (stream segments, chat messages) sealed under a symmetric epoch key
// that is itself Umbral-encrypted to a policy key, so a reader asks the policy's nodes for cfrags once per
// epoch, not once per piece, and a new epoch is where access can end (the nodes refuse its capsule once the
// policy is revoked or over). Each piece is XChaCha20-Poly1305 with a random nonce and caller-chosen associated
// data (e.g. stream id ‖ epoch ‖ index), so pieces cannot be moved, swapped or spliced between epochs.
//
// Runtime-neutral (Node and browsers). Retrieval and cfrag verification are Bob's (src/client/bob): this
// module only calls them.
import { xchacha20poly1305 } from "@noble/ciphers/chacha";
import { randomBytes } from "@noble/hashes/utils";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils";
import { Capsule, decryptReencrypted, encrypt, type PublicKey, type SecretKey } from "../umbral";
import { retrieveCFrags, type RetrieveOptions } from "../client/bob";
import { publicKeyOf, type PolicyGrant } from "../client/grant";

export const EPOCH_KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;

/** Raised for a sealed piece that fails authentication or is malformed. */
export class EpochSealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EpochSealError";
  }
}

/** An epoch as published: the capsule and the wrapped key, hex (no secret). */
export interface EpochLock {
  /** Umbral capsule bytes, 0x-hex. */
  capsule: string;
  /** The epoch key, Umbral-DEM-encrypted under the capsule, 0x-hex. */
  wrappedKey: string;
}

/** A fresh epoch: its key (keep it only while sealing) and its lock (publish it). */
export function newEpoch(policyKey: PublicKey): { key: Uint8Array; lock: EpochLock } {
  const key = randomBytes(EPOCH_KEY_LENGTH);
  const [capsule, wrappedKey] = encrypt(policyKey, key);
  return { key, lock: { capsule: `0x${bytesToHex(capsule.toBytes())}`, wrappedKey: `0x${bytesToHex(wrappedKey)}` } };
}

/** Seals one piece under an epoch key: nonce (24) ‖ ciphertext ‖ tag (16), bound to `aad`. */
export function sealPiece(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(NONCE_LENGTH + sealed.length);
  out.set(nonce, 0);
  out.set(sealed, NONCE_LENGTH);
  return out;
}

/** Opens one piece, or throws EpochSealError naming `what` if it was tampered with, moved or has the wrong key. */
export function openPiece(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array, what = "piece"): Uint8Array {
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH) {
    throw new EpochSealError(`${what} is ${sealed.length} bytes, shorter than a nonce and a tag`);
  }
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_LENGTH), aad).decrypt(sealed.subarray(NONCE_LENGTH));
  } catch {
    throw new EpochSealError(`${what} failed authentication: it was tampered with, reordered or swapped`);
  }
}

/** The sealed size of a plaintext piece of `length` bytes. */
export const sealedPieceLength = (length: number): number => length + NONCE_LENGTH + TAG_LENGTH;

function lockBytes(hex: string, what: string): Uint8Array {
  try {
    return hexToBytes(hex.replace(/^0x/, ""));
  } catch {
    throw new EpochSealError(`${what} is not hex`);
  }
}

/**
 * Opens an epoch's key as the grant's reader: asks the policy's nodes for cfrags for the epoch's capsule (Bob's
 * retrieval and verification), then decrypts the wrapped key. Throws Bob's NotEnoughCFragsError when the nodes
 * refuse (revoked, expired) or too few answer.
 */
export async function openEpochKey(
  grant: PolicyGrant,
  receivingSk: SecretKey,
  lock: EpochLock,
  options: RetrieveOptions = {},
): Promise<Uint8Array> {
  const capsule = Capsule.fromBytes(lockBytes(lock.capsule, "the epoch's capsule"));
  const cfrags = await retrieveCFrags(grant, capsule, options);
  const key = decryptReencrypted(
    receivingSk,
    publicKeyOf(grant.delegatingKey),
    capsule,
    cfrags,
    lockBytes(lock.wrappedKey, "the epoch's wrapped key"),
  );
  if (key.length !== EPOCH_KEY_LENGTH) throw new EpochSealError(`epoch key is ${key.length} bytes, expected 32`);
  return key;
}

/**
 * Epoch keys opened once and kept: every later piece of an opened epoch decrypts without the nodes, so the
 * nodes see one request per epoch per reader. Concurrent asks for one epoch share one retrieval; a failed
 * retrieval is not kept (the next ask tries again).
 */
export class EpochKeyCache {
  private readonly keys = new Map<number, Promise<Uint8Array>>();
  /** How many retrievals were started (one per epoch unless one failed). */
  retrievals = 0;

  constructor(private readonly open: (epoch: number) => Promise<Uint8Array>) {}

  get(epoch: number): Promise<Uint8Array> {
    let key = this.keys.get(epoch);
    if (!key) {
      this.retrievals++;
      key = this.open(epoch);
      this.keys.set(epoch, key);
      key.catch(() => this.keys.delete(epoch));
    }
    return key;
  }

  /** Whether `epoch`'s key was asked for (opened or being opened). */
  has(epoch: number): boolean {
    return this.keys.has(epoch);
  }
}
