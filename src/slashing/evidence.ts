// What a node signs for every cfrag it returns, and how anyone recovers who signed it.
//
// digest = keccak256(capsule ‖ cfrag ‖ delegating key ‖ receiving key ‖ verifying key), capsule and cfrag in
// rust-umbral's simple forms (98 and 359 bytes), keys 33-byte compressed; the operator key signs the 32-byte
// digest as an EIP-191 personal message. The digest is also the Adjudicator's evidence hash.
import { keccak_256 } from "@noble/hashes/sha3";
import { hexlify, verifyMessage } from "ethers";
import { EvidenceFormatError } from "./errors";

export const CAPSULE_SIMPLE_LENGTH = 98;
export const CFRAG_SIMPLE_LENGTH = 359;
export const KEY_LENGTH = 33;
export const NODE_SIGNATURE_LENGTH = 65;

/** A cfrag as a node returned it: everything the Adjudicator needs except the hints. */
export interface SignedCFrag {
  /** 98-byte simple form. */
  capsule: Uint8Array;
  /** 359-byte simple form. */
  cfrag: Uint8Array;
  /** 33-byte compressed public keys the node attests. */
  delegatingKey: Uint8Array;
  receivingKey: Uint8Array;
  verifyingKey: Uint8Array;
  /** 65-byte EIP-191 signature (r ‖ s ‖ v) of {@link evidenceDigest} by the node's operator key. */
  nodeSignature: Uint8Array;
}

/** The parts of a {@link SignedCFrag} that the node signs. */
export type AttestedCFrag = Omit<SignedCFrag, "nodeSignature">;

function requireLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new EvidenceFormatError(`${what}: expected ${length} bytes, got ${bytes.length}`);
}

/** Throws {@link EvidenceFormatError} unless every field has its fixed length. */
export function checkLengths(e: AttestedCFrag & Partial<Pick<SignedCFrag, "nodeSignature">>): void {
  requireLength("capsule", e.capsule, CAPSULE_SIMPLE_LENGTH);
  requireLength("cfrag", e.cfrag, CFRAG_SIMPLE_LENGTH);
  requireLength("delegating key", e.delegatingKey, KEY_LENGTH);
  requireLength("receiving key", e.receivingKey, KEY_LENGTH);
  requireLength("verifying key", e.verifyingKey, KEY_LENGTH);
  if (e.nodeSignature) requireLength("node signature", e.nodeSignature, NODE_SIGNATURE_LENGTH);
}

/** delegating ‖ receiving ‖ verifying key: the Adjudicator's `keys` argument (99 bytes). */
export function packKeys(e: AttestedCFrag): Uint8Array {
  const keys = new Uint8Array(3 * KEY_LENGTH);
  keys.set(e.delegatingKey, 0);
  keys.set(e.receivingKey, KEY_LENGTH);
  keys.set(e.verifyingKey, 2 * KEY_LENGTH);
  return keys;
}

/** capsule ‖ cfrag ‖ delegating ‖ receiving ‖ verifying key (556 bytes): the Adjudicator's `evidence`. */
export function packEvidence(e: AttestedCFrag): Uint8Array {
  checkLengths(e);
  const keys = packKeys(e);
  const all = new Uint8Array(e.capsule.length + e.cfrag.length + keys.length);
  all.set(e.capsule, 0);
  all.set(e.cfrag, e.capsule.length);
  all.set(keys, e.capsule.length + e.cfrag.length);
  return all;
}

/** keccak256 of {@link packEvidence}: what the node signs (EIP-191) and the Adjudicator's evidence hash. */
export function evidenceDigest(e: AttestedCFrag): Uint8Array {
  return keccak_256(packEvidence(e));
}

/** The address whose key made `nodeSignature` over the evidence digest (checksummed). */
export function recoverOperator(e: SignedCFrag): string {
  checkLengths(e);
  return verifyMessage(evidenceDigest(e), hexlify(e.nodeSignature));
}
