// The node HTTP protocol shared by the node daemon (server) and the clients (Alice, Bob): routes, JSON
// shapes, limits and the messages that are signed. Version 1, under /v1.
import { concat, getBytes, keccak256, solidityPacked, toUtf8Bytes } from "ethers";

/** Most capsules one re-encryption request may carry. */
export const MAX_CAPSULES_PER_REQUEST = 32;
/** Largest request body a node accepts (a kfrag delivery is ~1 KiB; 32 capsules as hex ~7 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Hex pattern for JSON schemas: 0x-prefixed, even length. */
export const HEX = "^0x([0-9a-fA-F]{2})*$";
/** A policy id: 16 bytes, as the PolicyManager keys policies. */
export const POLICY_ID_HEX = "^0x[0-9a-fA-F]{32}$";

/** `GET /v1/status` */
export interface NodeStatus {
  staker: string;
  operator: string;
  /** The node's Umbral public key that kfrag deliveries are encrypted to (33-byte compressed, hex). */
  encryptingKey: string;
  chainId: string;
  currentPeriod: number;
  kfrags: number;
}

/** `POST /v1/policies/:policyId/kfrag`: a kfrag encrypted to the node and authorised by the policy owner. */
export interface KFragDelivery {
  /** Umbral capsule (MessagePack bytes, hex) of the encrypted payload, made with the node's encrypting key. */
  capsule: string;
  /** Umbral DEM ciphertext (hex) of the JSON `KFragPayload`. */
  ciphertext: string;
  /** EIP-191 signature by the policy owner's Ethereum account over `deliveryDigest(...)`. */
  ownerSignature: string;
}

/** What a delivery decrypts to. */
export interface KFragPayload {
  kfrag: string;
  delegatingKey: string;
  receivingKey: string;
  verifyingKey: string;
}

/** `POST /v1/policies/:policyId/reencrypt` */
export interface ReencryptionRequest {
  /** Capsules (MessagePack bytes, hex), at most MAX_CAPSULES_PER_REQUEST. */
  capsules: string[];
}

/** One re-encrypted capsule: the cfrag and the operator's attestation of it (the slashing evidence). */
export interface AttestedCFrag {
  /** CapsuleFrag MessagePack bytes, hex. */
  cfrag: string;
  /** EIP-191 signature by the node's operator over keccak256(capsule ‖ cfrag ‖ pk_A ‖ pk_B ‖ vk), simple forms. */
  signature: string;
}

export interface ReencryptionResponse {
  operator: string;
  cfrags: AttestedCFrag[];
}

/** Every error a node returns: the HTTP status says the class, `error` the cause in words. */
export interface ErrorResponse {
  statusCode: number;
  code: string;
  error: string;
}

/**
 * The 32-byte digest the policy owner signs (EIP-191) to authorise delivering an encrypted kfrag to `staker`'s
 * node for `policyId` on `chainId` at `policyManager`. Binding chain, contract, node and ciphertext stops a
 * delivery from being replayed to another node, policy or deployment.
 */
export function deliveryDigest(
  chainId: bigint,
  policyManager: string,
  policyId: string,
  staker: string,
  capsule: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  return getBytes(
    keccak256(
      concat([
        toUtf8Bytes("umbral-kms/kfrag-delivery/v1"),
        solidityPacked(
          ["uint256", "address", "bytes16", "address", "bytes32"],
          [chainId, policyManager, policyId, staker, keccak256(concat([capsule, ciphertext]))],
        ),
      ]),
    ),
  );
}
