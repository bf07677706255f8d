// The node HTTP protocol shared by the node daemon (server) and the clients (Alice, Bob): routes, JSON
// shapes, limits and the messages that are signed. Version 1, under /v1.
import { concat, getBytes, keccak256, solidityPacked, toUtf8Bytes } from "ethers";
import type { RequesterProof, SignedConditionSet } from "../conditions";

/** Most capsules one re-encryption request may carry. */
export const MAX_CAPSULES_PER_REQUEST = 32;
/** Largest request body a node accepts (a kfrag delivery is ~1 KiB; 32 capsules as hex ~7 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Hex pattern for JSON schemas: 0x-prefixed, even length. */
export const HEX = "^0x([0-9a-fA-F]{2})*$";
/** A policy id: 16 bytes, as the PolicyManager keys policies. */
export const POLICY_ID_HEX = "^0x[0-9a-fA-F]{32}$";

/**
 * `GET /v1/status` (and, for people, the HTML page `GET /status` with the same fields). What needs the chain
 * comes from the node's last read of it (`chain.readAt`), refreshed in the background, so the endpoint costs no
 * RPC call; a field the node has not read yet is null. Amounts are decimal strings in KMS or ETH.
 */
export interface NodeStatus {
  staker: string;
  operator: string;
  /** The node's Umbral public key that kfrag deliveries are encrypted to (33-byte compressed, hex). */
  encryptingKey: string;
  chainId: string;
  /** The deployment the node serves (clients check it before paying a policy to the node). */
  contracts?: { escrow: string; policyManager: string; nodeDirectory: string };
  currentPeriod: number;
  kfrags: number;
  /** Kfrags deleted because their policy was revoked or ended, over the store's life. */
  deletedKFrags: number;
  /** Kfrags the node acknowledged and its store no longer holds (a damaged store; see the node's log). */
  lostKFrags: number;
  /** The node software's version (package.json). */
  version?: string;
  startedAt?: string;
  uptimeSeconds?: number;
  /** The URL this node runs at (the one it announces). */
  url?: string;
  chain?: {
    /** False from a call that could not reach the RPC until the next that could. */
    reachable: boolean;
    /** Why the chain is unreachable, while it is. */
    error: string | null;
    /** When the node last read the fields below from the chain. */
    readAt: string | null;
    latestBlock: number | null;
    blockTime: string | null;
  };
  periodSeconds?: number | null;
  commitments?: {
    lastCommittedPeriod: number | null;
    /** The committed period after the current one, if any (null: not yet committed to the next period). */
    nextCommittedPeriod: number | null;
    /** Periods since the node started that it did not commit to. */
    missed: number;
    /** Commitment transactions sent and tries failed since start. */
    sent: number;
    failed: number;
  };
  stake?: { stakedKms: string | null; lockedKms: string | null; lockEndPeriod: number | null };
  rewards?: { pendingRewardKms: string | null; pendingFeesKms: string | null };
  operatorBalance?: { eth: string | null; commitmentsPaidFor: number | null };
  /** Held kfrags whose policy has not ended (revoked ones are deleted). */
  livePolicies?: number | null;
  /** API requests (deliveries and re-encryptions) answered since start: 2xx served, the rest failed. */
  requests?: { served: number; failed: number };
  /** The staker's NodeDirectory record, and whether it names this node. */
  announcement?: {
    url: string | null;
    encryptingKey: string | null;
    urlMatches: boolean | null;
    keyMatches: boolean | null;
  };
  /** False once the watchdog found the node unbonded, unstaked or its lock too short (see the reason). */
  acceptingKFrags?: boolean;
  notAcceptingReason?: string | null;
}

/** `POST /v1/policies/:policyId/kfrag`: a kfrag encrypted to the node and authorised by the policy owner. */
export interface KFragDelivery {
  /** Umbral capsule (MessagePack bytes, hex) of the encrypted payload, made with the node's encrypting key. */
  capsule: string;
  /** Umbral DEM ciphertext (hex) of the JSON `KFragPayload`. */
  ciphertext: string;
  /**
   * Version of the kfrag set, chosen by the owner (a counter or a timestamp, 1 … 2^53 − 1). A node refuses a
   * delivery older than the kfrag it holds, so an old delivery replayed after a re-delivery changes nothing.
   */
  version: number;
  /** EIP-191 signature by the policy owner's Ethereum account over `deliveryDigest(...)`. */
  ownerSignature: string;
  /**
   * The policy's access conditions as the owner signed them (docs/conditions.md): required when the policy
   * commits to conditions on-chain, and then bound by the digest (v3), so the kfrag is stored with them.
   */
  conditions?: SignedConditionSet;
}

/**
 * `POST /v1/policies/:policyId/conditions`: a newer signed condition set alone (the body is the
 * SignedConditionSet), for a node that holds the policy's kfrag; it must be the version committed on-chain.
 */
export interface ConditionsReceipt {
  policyId: string;
  version: number;
  stored: true;
}

/** The node's answer to an accepted delivery: its operator's signed acknowledgement that it stored it. */
export interface KFragReceipt {
  policyId: string;
  version: number;
  stored: true;
  operator: string;
  /** EIP-191 signature by the node's operator over `storageAckDigest(deliveryDigest(...))`. */
  signature: string;
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
  /**
   * Proof of the requester's Ethereum address (SIWE or EIP-712), for policies whose conditions are about the
   * requester (`:userAddress`). Nothing else about conditions is ever taken from the request.
   */
  requester?: RequesterProof;
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
  /** For CONDITION_* refusals: the condition concerned, its JSON path in the set and a one-line description. */
  condition?: { path: string; description: string };
}

/** What a delivery is for: the fields the owner's signature binds. */
export interface DeliveryTarget {
  chainId: bigint;
  policyManager: string;
  policyId: string;
  staker: string;
  version: number;
  capsule: Uint8Array;
  ciphertext: Uint8Array;
  /** The condition set sent with the kfrag (its version and `conditionsHash`): the v3 digest binds them. */
  conditions?: { version: number; hash: string };
}

/**
 * The 32-byte digest the policy owner signs (EIP-191) to authorise delivering an encrypted kfrag to `staker`'s
 * node for `policyId` on `chainId` at `policyManager`. Binding chain, contract, node and ciphertext stops a
 * delivery from being replayed to another node, policy or deployment; binding the kfrag set's `version` lets
 * the node refuse an older delivery replayed to itself. A delivery with access conditions uses the v3 tag and
 * binds the set's version and hash too, so the kfrag cannot be stored without (or with other) conditions; one
 * without keeps the v2 digest, byte for byte.
 */
export function deliveryDigest(target: DeliveryTarget): Uint8Array {
  const types = ["uint256", "address", "bytes16", "address", "uint64", "bytes32"];
  const values: (string | number | bigint)[] = [
    target.chainId,
    target.policyManager,
    target.policyId,
    target.staker,
    target.version,
    keccak256(concat([target.capsule, target.ciphertext])),
  ];
  if (target.conditions) {
    types.push("uint64", "bytes32");
    values.push(target.conditions.version, target.conditions.hash);
  }
  const tag = target.conditions ? "umbral-kms/kfrag-delivery/v3" : "umbral-kms/kfrag-delivery/v2";
  return getBytes(keccak256(concat([toUtf8Bytes(tag), solidityPacked(types, values)])));
}

/** The digest a node's operator signs (EIP-191) to acknowledge it stored the delivery of `deliveryDigest`. */
export function storageAckDigest(deliveryDigest: Uint8Array): Uint8Array {
  return getBytes(keccak256(concat([toUtf8Bytes("umbral-kms/kfrag-stored/v1"), deliveryDigest])));
}

/** Raised for a node URL that must not be used: not http(s), or with credentials, a query or a fragment. */
export class NodeUrlError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`node URL ${JSON.stringify(url.slice(0, 300))} is not usable: ${reason}`);
    this.name = "NodeUrlError";
  }
}

/** Longest node URL, in bytes, as the NodeDirectory accepts. */
export const MAX_NODE_URL_BYTES = 256;

/**
 * Checks a node's base URL as announced in the NodeDirectory: `http:` or `https:`, a host, no user name or
 * password, no query and no fragment (not even empty ones), no whitespace or control characters (which
 * `new URL` would silently drop), at most MAX_NODE_URL_BYTES. A path is allowed (a reverse proxy's prefix).
 * Returns the parsed URL; throws NodeUrlError.
 */
export function parseNodeUrl(url: string): URL {
  if (typeof url !== "string" || url.length === 0) throw new NodeUrlError(String(url), "empty");
  if (Buffer.byteLength(url) > MAX_NODE_URL_BYTES) {
    throw new NodeUrlError(url, `longer than ${MAX_NODE_URL_BYTES} bytes`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(url)) throw new NodeUrlError(url, "contains whitespace or control characters");
  if (url.includes("?")) throw new NodeUrlError(url, "has a query");
  if (url.includes("#")) throw new NodeUrlError(url, "has a fragment");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NodeUrlError(url, "not a URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new NodeUrlError(url, `scheme ${parsed.protocol} is not http: or https:`);
  }
  if (parsed.username || parsed.password || /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(url)) {
    throw new NodeUrlError(url, "has credentials");
  }
  if (!parsed.hostname) throw new NodeUrlError(url, "has no host");
  return parsed;
}

/**
 * The URL of `route` (a path relative to the API root, e.g. `v1/status`, each segment of which is
 * percent-encoded here) on the node whose base URL is `base`; throws NodeUrlError for an unusable base.
 */
export function nodeEndpoint(base: string, ...route: string[]): string {
  const root = parseNodeUrl(base);
  if (!root.pathname.endsWith("/")) root.pathname += "/";
  return new URL(route.map(encodeURIComponent).join("/"), root).href;
}
