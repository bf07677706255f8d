// What a node signs for every cfrag it returns, and how anyone recovers who signed it.
//
// An EIP-712 typed message, ReencryptionAttestation(bytes capsule, bytes cfrag, bytes delegatingKey, bytes
// receivingKey, bytes verifyingKey), capsule and cfrag in rust-umbral's simple forms (98 and 359 bytes), keys
// 33-byte compressed, in the domain of one Adjudicator: {name "umbral-kms Adjudicator", version "1", chainId,
// verifyingContract}. The domain binds the signature to one deployment: a cfrag signed on a test chain (where
// nodes can be told to cheat) judges nothing on another. The typed-data digest is also the Adjudicator's key
// for the evidence.
import {
  getAddress,
  getBytes,
  hexlify,
  TypedDataEncoder,
  verifyTypedData,
  type Signer,
  type TypedDataDomain,
} from "ethers";
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
  /** 65-byte signature (r ‖ s ‖ v) of {@link attestationDigest} by the node's operator key. */
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

/** The inverse of {@link packEvidence}: the five parts of 556 bytes of evidence. */
export function unpackEvidence(evidence: Uint8Array): AttestedCFrag {
  requireLength("evidence", evidence, CAPSULE_SIMPLE_LENGTH + CFRAG_SIMPLE_LENGTH + 3 * KEY_LENGTH);
  const keysAt = CAPSULE_SIMPLE_LENGTH + CFRAG_SIMPLE_LENGTH;
  return {
    capsule: evidence.slice(0, CAPSULE_SIMPLE_LENGTH),
    cfrag: evidence.slice(CAPSULE_SIMPLE_LENGTH, keysAt),
    delegatingKey: evidence.slice(keysAt, keysAt + KEY_LENGTH),
    receivingKey: evidence.slice(keysAt + KEY_LENGTH, keysAt + 2 * KEY_LENGTH),
    verifyingKey: evidence.slice(keysAt + 2 * KEY_LENGTH),
  };
}

/** The deployment an attestation is bound to: the chain and the Adjudicator that judges it. */
export interface AttestationDomain {
  chainId: bigint;
  /** The Adjudicator's address. */
  adjudicator: string;
}

/** The EIP-712 name and version of the Adjudicator's domain (contracts/slashing/Adjudicator.sol). */
export const ATTESTATION_DOMAIN_NAME = "umbral-kms Adjudicator";
export const ATTESTATION_DOMAIN_VERSION = "1";

/** The EIP-712 type of what a node signs. */
export const ATTESTATION_TYPES = {
  ReencryptionAttestation: [
    { name: "capsule", type: "bytes" },
    { name: "cfrag", type: "bytes" },
    { name: "delegatingKey", type: "bytes" },
    { name: "receivingKey", type: "bytes" },
    { name: "verifyingKey", type: "bytes" },
  ],
};

/** The EIP-712 domain of `domain`'s Adjudicator. */
export function typedDataDomain(domain: AttestationDomain): TypedDataDomain {
  return {
    name: ATTESTATION_DOMAIN_NAME,
    version: ATTESTATION_DOMAIN_VERSION,
    chainId: domain.chainId,
    verifyingContract: getAddress(domain.adjudicator),
  };
}

function attestationValue(e: AttestedCFrag): Record<string, string> {
  checkLengths(e);
  return {
    capsule: hexlify(e.capsule),
    cfrag: hexlify(e.cfrag),
    delegatingKey: hexlify(e.delegatingKey),
    receivingKey: hexlify(e.receivingKey),
    verifyingKey: hexlify(e.verifyingKey),
  };
}

/** The EIP-712 digest a node signs for `e` in `domain` (0x-hex): also the Adjudicator's key for the evidence. */
export function attestationDigest(e: AttestedCFrag, domain: AttestationDomain): string {
  return TypedDataEncoder.hash(typedDataDomain(domain), ATTESTATION_TYPES, attestationValue(e));
}

/** Signs the attestation of `e` in `domain` with `signer` (the operator key): the 65-byte node signature. */
export async function signAttestation(
  signer: Pick<Signer, "signTypedData">,
  e: AttestedCFrag,
  domain: AttestationDomain,
): Promise<Uint8Array> {
  const signature = await signer.signTypedData(typedDataDomain(domain), ATTESTATION_TYPES, attestationValue(e));
  return getBytes(signature);
}

/** The address whose key made `nodeSignature` over the attestation of `e` in `domain` (checksummed). */
export function recoverOperator(e: SignedCFrag, domain: AttestationDomain): string {
  checkLengths(e);
  return verifyTypedData(typedDataDomain(domain), ATTESTATION_TYPES, attestationValue(e), hexlify(e.nodeSignature));
}

/** The attestation domain of a deployed Adjudicator: its address and the chain its runner is connected to. */
export async function attestationDomainOf(adjudicator: {
  getAddress(): Promise<string>;
  runner: { provider?: { getNetwork(): Promise<{ chainId: bigint }> } | null } | null;
}): Promise<AttestationDomain> {
  const provider = adjudicator.runner?.provider;
  if (!provider) throw new Error("the Adjudicator contract has no provider: cannot tell its chain");
  const [address, network] = await Promise.all([adjudicator.getAddress(), provider.getNetwork()]);
  return { chainId: network.chainId, adjudicator: address };
}
