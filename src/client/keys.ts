// Umbral key files for Alice and Bob: one 32-byte secret in hex per file, created with mode 0600.
//
// Alice keeps a SecretKeyFactory seed: each policy label derives its own delegating key, and one signing key
// signs every kfrag, so one file serves many policies. Bob keeps one receiving secret key.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { PublicKey, SecretKey, SecretKeyFactory, Signer } from "../umbral";

/** Raised for a key file that is missing or does not hold a 32-byte hex secret. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

function readSecretHex(file: string): Uint8Array {
  if (!existsSync(file)) throw new KeyFileError(`key file ${file} does not exist (create it with kms keygen)`);
  const hex = readFileSync(file, "utf8").trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyFileError(`key file ${file} does not hold a 32-byte hex secret`);
  return Buffer.from(hex, "hex");
}

/** Writes a new random secret to `file` (refusing to overwrite one). */
export function createKeyFile(file: string): void {
  if (existsSync(file)) throw new KeyFileError(`key file ${file} already exists; refusing to overwrite it`);
  writeFileSync(file, Buffer.from(SecretKey.random().toBEBytes()).toString("hex") + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
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

  /** The key that signs Alice's kfrags; nodes and Bob check cfrags against its public key. */
  signer(): Signer {
    return new Signer(this.factory.makeKey(new TextEncoder().encode("signing")));
  }
}

/** The secret key in a key file (Bob's receiving key, a node's encrypting key). */
export function readSecretKeyFile(file: string): SecretKey {
  return SecretKey.fromBEBytes(readSecretHex(file));
}

/** Parses a 33-byte compressed public key from hex, with a message naming `what`. */
export function parsePublicKey(hex: string, what: string): PublicKey {
  const clean = hex.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{66}$/.test(clean)) throw new KeyFileError(`${what} must be a 33-byte compressed key in hex`);
  return PublicKey.fromCompressedBytes(Buffer.from(clean, "hex"));
}
