// Kfrag delivery: Alice encrypts a kfrag and the keys it is valid under to one node's Umbral key; the node
// decrypts it and verifies the kfrag before storing it.
import {
  Capsule,
  KeyFrag,
  PublicKey,
  SecretKey,
  UmbralError,
  decryptOriginal,
  encrypt,
  reencrypt,
  type VerifiedKeyFrag,
} from "../umbral";
import { hexlify } from "ethers";
import type { KFragPayload } from "./protocol";

/** Raised by a node for a delivery that does not decrypt, parse or verify. */
export class KFragDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KFragDeliveryError";
  }
}

const fromHex = (s: string, what: string): Uint8Array => {
  if (typeof s !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new KFragDeliveryError(`${what} is not hex`);
  return Buffer.from(s.slice(2), "hex");
};

/** The keys a kfrag is valid under. */
export interface PolicyKeys {
  delegatingPk: PublicKey;
  receivingPk: PublicKey;
  verifyingPk: PublicKey;
}

/** Alice: encrypts `kfrag` with the policy keys to the node's encrypting key. */
export function sealKFrag(
  nodeEncryptingKey: PublicKey,
  kfrag: VerifiedKeyFrag,
  keys: PolicyKeys,
): { capsule: Uint8Array; ciphertext: Uint8Array } {
  const payload: KFragPayload = {
    kfrag: hexlify(kfrag.toBytes()),
    delegatingKey: hexlify(keys.delegatingPk.toCompressedBytes()),
    receivingKey: hexlify(keys.receivingPk.toCompressedBytes()),
    verifyingKey: hexlify(keys.verifyingPk.toCompressedBytes()),
  };
  const [capsule, ciphertext] = encrypt(nodeEncryptingKey, new TextEncoder().encode(JSON.stringify(payload)));
  return { capsule: capsule.toBytes(), ciphertext };
}

/**
 * Node: decrypts a delivery with its encrypting key and verifies the kfrag under the keys it came with.
 * Returns the payload (hex fields) ready to store; throws KFragDeliveryError with the reason otherwise.
 */
export function openKFrag(nodeSecretKey: SecretKey, capsuleBytes: Uint8Array, ciphertext: Uint8Array): KFragPayload {
  let plaintext: Uint8Array;
  try {
    plaintext = decryptOriginal(nodeSecretKey, Capsule.fromBytes(capsuleBytes), ciphertext);
  } catch (e) {
    if (e instanceof UmbralError)
      throw new KFragDeliveryError(`delivery does not decrypt with this node's key: ${e.message}`);
    throw e;
  }
  let payload: KFragPayload;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext)) as KFragPayload;
  } catch {
    throw new KFragDeliveryError("delivery payload is not JSON");
  }
  try {
    const verifyingPk = PublicKey.fromCompressedBytes(fromHex(payload.verifyingKey, "verifyingKey"));
    const delegatingPk = PublicKey.fromCompressedBytes(fromHex(payload.delegatingKey, "delegatingKey"));
    const receivingPk = PublicKey.fromCompressedBytes(fromHex(payload.receivingKey, "receivingKey"));
    const kfrag = KeyFrag.fromBytes(fromHex(payload.kfrag, "kfrag")).verify(verifyingPk, delegatingPk, receivingPk);
    // KeyFrag.verify checks the signature meant for proxies; every cfrag also carries the one meant for the
    // receiver, which the node will attest when it signs cfrags. Check it once, now, on a trial capsule, so
    // a delegator cannot hand the node a kfrag whose cfrags would all look like cheating.
    const [trial] = encrypt(delegatingPk, new Uint8Array(0));
    reencrypt(trial, kfrag).unverify().verify(trial, verifyingPk, delegatingPk, receivingPk);
  } catch (e) {
    if (e instanceof UmbralError) throw new KFragDeliveryError(`kfrag rejected: ${e.message}`);
    throw e;
  }
  return {
    kfrag: payload.kfrag.toLowerCase(),
    delegatingKey: payload.delegatingKey.toLowerCase(),
    receivingKey: payload.receivingKey.toLowerCase(),
    verifyingKey: payload.verifyingKey.toLowerCase(),
  };
}
