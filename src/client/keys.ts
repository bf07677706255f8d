// Umbral keys for Alice and Bob: Alice keeps a SecretKeyFactory seed (each policy label derives its own
// delegating key, and one signing key signs every kfrag, so one seed serves many policies); Bob keeps one
// receiving secret key.
//
// Runtime-neutral (Node and browsers). Key files (one 32-byte secret in hex, mode 0600) are ./key-files'
// (Node); in a browser build ./key-files.browser stands in for it and refuses, keys live in IndexedDB there.
import { hexToBytes } from "@noble/hashes/utils";
import { PublicKey, SecretKeyFactory, type SecretKey, Signer } from "../umbral";
import { readSecretHex } from "./key-files";

export { CREATE_EXCLUSIVE, createKeyFile, readSecretKeyFile } from "./key-files";

/** Raised for a key file that is missing, unsafe, or does not hold a 32-byte hex secret. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/** Alice's Umbral keys. */
export class AliceKeys {
  private constructor(private readonly factory: SecretKeyFactory) {}

  static fromSeed(seed: Uint8Array): AliceKeys {
    return new AliceKeys(SecretKeyFactory.fromSecureRandomness(seed));
  }

  static fromFile(file: string): AliceKeys {
    return AliceKeys.fromSeed(readSecretHex(file));
  }

  /** The delegating secret key of the policy labelled `label` (Enrico encrypts to its public key). */
  delegatingKey(label: string): SecretKey {
    return this.factory.makeKey(new TextEncoder().encode(`policy/${label}`));
  }

  /**
   * The secret seed of the kfrag set of the policy labelled `label` (generateKFrags' `coefficientsSeed`): the
   * policy's polynomial and precursor follow from it, so Alice can issue a replacement share later (heal).
   */
  kfragSeed(label: string): Uint8Array {
    return this.factory.makeKey(new TextEncoder().encode(`kfrags/${label}`)).toBEBytes();
  }

  /** The key that signs Alice's kfrags; nodes and Bob check cfrags against its public key. */
  signer(): Signer {
    return new Signer(this.factory.makeKey(new TextEncoder().encode("signing")));
  }
}

/** Parses a 33-byte compressed public key from hex, with a message naming `what`. */
export function parsePublicKey(hex: string, what: string): PublicKey {
  const clean = hex.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{66}$/.test(clean)) throw new KeyFileError(`${what} must be a 33-byte compressed key in hex`);
  return PublicKey.fromCompressedBytes(hexToBytes(clean));
}
