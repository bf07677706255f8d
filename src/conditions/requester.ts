// Who Bob is: proofs of the requester's Ethereum address that a node checks before it evaluates conditions on
// `:userAddress`. Two forms, both bound to this node, its chain and a short validity, both single-use:
//  - an EIP-4361 (Sign-In with Ethereum) message, parsed and verified with `siwe`: domain and URI are the node's,
//    chain id its chain, `expirationTime` required, `notBefore` honoured, the nonce used once;
//  - an EIP-712 signature (ethers typed data) of {requester, node, policyId, nonce, expiry} in a domain bound to
//    the chain and the PolicyManager.
// Bob's Umbral receiving key is untouched: the proof only says which Ethereum account asks.
import { SiweMessage } from "siwe";
import {
  getAddress,
  hexlify,
  isHexString,
  verifyMessage,
  verifyTypedData,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import { randomBytes } from "@noble/hashes/utils";
import { RequesterProofError } from "./errors";

/** A signed EIP-4361 message. */
export interface SiweProof {
  type: "siwe";
  message: string;
  signature: string;
}

/** What an EIP-712 requester proof signs. */
export interface RequesterClaim {
  requester: string;
  /** The node's staker address. */
  node: string;
  policyId: string;
  /** 32 random bytes, 0x-hex. */
  nonce: string;
  /** Unix seconds after which the proof is void. */
  expiry: number;
}

export interface TypedRequesterProof {
  type: "eip712";
  claim: RequesterClaim;
  signature: string;
}

export type RequesterProof = SiweProof | TypedRequesterProof;

/** The EIP-712 domain and type of a requester claim. */
export const REQUESTER_DOMAIN = { name: "KMS Requester", version: "1" } as const;
export const REQUESTER_TYPES = {
  Requester: [
    { name: "requester", type: "address" },
    { name: "node", type: "address" },
    { name: "policyId", type: "bytes16" },
    { name: "nonce", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
};

/** A proof may be valid this long at most (from the node's now); so the replay cache forgets it soon. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 600;
const MAX_MESSAGE_LENGTH = 4096;

/**
 * The nonces this node has accepted and not yet seen expire. Bounded: when full of live nonces it refuses new
 * proofs (BUSY) rather than forget one, because a forgotten nonce could be replayed.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxEntries = 100_000) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records `key` as used until `expiresAt` (Unix seconds); throws REPLAYED if it is in use, BUSY if full. */
  consume(key: string, expiresAt: number, now: number): void {
    const until = this.seen.get(key);
    if (until !== undefined && until > now)
      throw new RequesterProofError("REPLAYED", "this proof's nonce was already used; sign a fresh proof");
    if (this.seen.size >= this.maxEntries) {
      for (const [k, expiry] of this.seen) if (expiry <= now) this.seen.delete(k);
      if (this.seen.size >= this.maxEntries)
        throw new RequesterProofError("BUSY", "the node is tracking too many live proofs; retry in a few minutes");
    }
    this.seen.set(key, expiresAt);
  }
}

/** What the node expects a proof to be bound to. */
export interface RequesterExpectation {
  /** The node's domain as a SIWE `domain`: host[:port] of its public URL. */
  domain: string;
  /** The node's public URL, the SIWE `uri`. */
  uri: string;
  chainId: bigint;
  /** The node's time, Unix seconds (the chain's time in tests). */
  now: number;
  replay: ReplayGuard;
  maxLifetimeSeconds?: number;
  /** For EIP-712 proofs: the node's staker address, the policy asked for and the PolicyManager. */
  node?: string;
  policyId?: string;
  policyManager?: string;
}

/** Verifies a requester proof and returns the proven address (checksummed); throws RequesterProofError. */
export async function verifyRequester(proof: unknown, expected: RequesterExpectation): Promise<string> {
  if (typeof proof !== "object" || proof === null)
    throw new RequesterProofError("MALFORMED", "the proof must be a JSON object");
  const { type, signature } = proof as { type?: unknown; signature?: unknown };
  if (typeof signature !== "string" || !isHexString(signature, 65))
    throw new RequesterProofError("MALFORMED", "signature must be 65 bytes of 0x-hex");
  if (type === "siwe") return verifySiwe((proof as { message?: unknown }).message, signature, expected);
  if (type === "eip712") return verifyTyped((proof as { claim?: unknown }).claim, signature, expected);
  throw new RequesterProofError("MALFORMED", `unknown proof type ${JSON.stringify(type)} (known: siwe, eip712)`);
}

function checkWindow(expiresAt: number, notBefore: number | undefined, expected: RequesterExpectation): void {
  const { now } = expected;
  const max = expected.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  if (now >= expiresAt)
    throw new RequesterProofError("EXPIRED", `it expired at ${iso(expiresAt)}, and the node's time is ${iso(now)}`);
  if (notBefore !== undefined && now < notBefore)
    throw new RequesterProofError(
      "NOT_YET_VALID",
      `it is valid from ${iso(notBefore)}, and the node's time is ${iso(now)}`,
    );
  if (expiresAt - now > max)
    throw new RequesterProofError(
      "TOO_LONG_LIVED",
      `it is valid until ${iso(expiresAt)}, more than ${max} s from the node's time ${iso(now)}`,
    );
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function seconds(text: string, field: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new RequesterProofError("MALFORMED", `${field} is not an ISO 8601 time`);
  return Math.floor(ms / 1000);
}

async function verifySiwe(message: unknown, signature: string, expected: RequesterExpectation): Promise<string> {
  if (typeof message !== "string" || message.length > MAX_MESSAGE_LENGTH)
    throw new RequesterProofError(
      "MALFORMED",
      `message must be an EIP-4361 text of at most ${MAX_MESSAGE_LENGTH} characters`,
    );
  let siwe: SiweMessage;
  try {
    siwe = new SiweMessage(message);
  } catch (e) {
    throw new RequesterProofError(
      "MALFORMED",
      `not an EIP-4361 message (${String((e as Error)?.message ?? e).split("\n")[0]})`,
    );
  }
  if (siwe.domain !== expected.domain)
    throw new RequesterProofError(
      "OTHER_DOMAIN",
      `it is for domain ${siwe.domain}, not this node's ${expected.domain}`,
    );
  if (siwe.uri !== expected.uri)
    throw new RequesterProofError("OTHER_DOMAIN", `it is for URI ${siwe.uri}, not this node's ${expected.uri}`);
  if (BigInt(siwe.chainId) !== expected.chainId)
    throw new RequesterProofError(
      "WRONG_CHAIN",
      `it is for chain ${siwe.chainId}, not this node's chain ${expected.chainId}`,
    );
  if (siwe.expirationTime === undefined)
    throw new RequesterProofError("MALFORMED", "the message must carry an Expiration Time");
  const expiresAt = seconds(siwe.expirationTime, "Expiration Time");
  checkWindow(expiresAt, siwe.notBefore === undefined ? undefined : seconds(siwe.notBefore, "Not Before"), expected);
  // Recover first, to say who signed; siwe then checks the whole message again (domain, nonce, time, signature).
  let signer: string;
  try {
    signer = verifyMessage(siwe.prepareMessage(), signature);
  } catch {
    throw new RequesterProofError("BAD_SIGNATURE", "the signature recovers no address");
  }
  if (signer !== siwe.address)
    throw new RequesterProofError("SIGNED_BY_OTHER", `the message names ${siwe.address}, but ${signer} signed it`);
  const verdict = await siwe.verify(
    { signature, domain: expected.domain, nonce: siwe.nonce, time: iso(expected.now) },
    { suppressExceptions: true },
  );
  if (!verdict.success)
    throw new RequesterProofError("BAD_SIGNATURE", `siwe refused it: ${verdict.error?.type ?? "unknown reason"}`);
  expected.replay.consume(`${siwe.address.toLowerCase()}:siwe:${siwe.nonce}`, expiresAt, expected.now);
  return siwe.address;
}

/** The EIP-712 domain of requester claims on `chainId` for the PolicyManager `policyManager`. */
export function requesterDomain(chainId: bigint, policyManager: string): TypedDataDomain {
  return { ...REQUESTER_DOMAIN, chainId, verifyingContract: policyManager };
}

function verifyTyped(claim: unknown, signature: string, expected: RequesterExpectation): string {
  const { node, policyId, policyManager } = expected;
  if (node === undefined || policyId === undefined || policyManager === undefined)
    throw new TypeError("verifying an EIP-712 requester proof needs the expected node, policyId and policyManager");
  if (typeof claim !== "object" || claim === null)
    throw new RequesterProofError("MALFORMED", "an eip712 proof carries a claim object");
  const c = claim as Record<string, unknown>;
  for (const field of ["requester", "node"])
    if (typeof c[field] !== "string" || !isHexString(c[field], 20))
      throw new RequesterProofError("MALFORMED", `claim.${field} must be a 20-byte 0x-hex address`);
  if (typeof c.policyId !== "string" || !isHexString(c.policyId, 16))
    throw new RequesterProofError("MALFORMED", "claim.policyId must be a 16-byte 0x-hex policy id");
  if (typeof c.nonce !== "string" || !isHexString(c.nonce, 32))
    throw new RequesterProofError("MALFORMED", "claim.nonce must be 32 bytes of 0x-hex");
  if (typeof c.expiry !== "number" || !Number.isSafeInteger(c.expiry) || c.expiry < 0)
    throw new RequesterProofError("MALFORMED", "claim.expiry must be Unix seconds");
  const parsed: RequesterClaim = {
    requester: c.requester as string,
    node: c.node as string,
    policyId: c.policyId as string,
    nonce: c.nonce as string,
    expiry: c.expiry,
  };
  if (parsed.node.toLowerCase() !== node.toLowerCase())
    throw new RequesterProofError("OTHER_DOMAIN", `it is for node ${parsed.node}, not this node ${node}`);
  if (parsed.policyId.toLowerCase() !== policyId.toLowerCase())
    throw new RequesterProofError("OTHER_DOMAIN", `it is for policy ${parsed.policyId}, not ${policyId}`);
  checkWindow(parsed.expiry, undefined, expected);
  let signer: string;
  try {
    signer = verifyTypedData(requesterDomain(expected.chainId, policyManager), REQUESTER_TYPES, parsed, signature);
  } catch {
    throw new RequesterProofError("BAD_SIGNATURE", "the signature recovers no address");
  }
  const requester = getAddress(parsed.requester.toLowerCase());
  if (signer !== requester)
    throw new RequesterProofError("SIGNED_BY_OTHER", `the claim names ${requester}, but ${signer} signed it`);
  expected.replay.consume(
    `${requester.toLowerCase()}:eip712:${parsed.nonce.toLowerCase()}`,
    parsed.expiry,
    expected.now,
  );
  return requester;
}

/** A fresh nonce: 16 random bytes as 32 hex digits (alphanumeric, as EIP-4361 requires). */
export function randomNonce(): string {
  return hexlify(randomBytes(16)).slice(2);
}

/** Bob: signs an EIP-4361 message proving `signer`'s address to the node at `uri`, valid from `now` for `lifetimeSeconds`. */
export async function signSiweProof(
  signer: Pick<Signer, "getAddress" | "signMessage">,
  node: { uri: string; chainId: bigint },
  now: number,
  lifetimeSeconds = 300,
): Promise<SiweProof> {
  const url = new URL(node.uri);
  const message = new SiweMessage({
    domain: url.host,
    address: await signer.getAddress(),
    statement: "Prove my address to this umbral-kms node for one re-encryption request.",
    uri: node.uri,
    version: "1",
    chainId: Number(node.chainId),
    nonce: randomNonce(),
    issuedAt: iso(now),
    expirationTime: iso(now + lifetimeSeconds),
  }).prepareMessage();
  return { type: "siwe", message, signature: await signer.signMessage(message) };
}

/** Bob: signs an EIP-712 requester claim for `policyId` at the node `node` (its staker address). */
export async function signRequesterProof(
  signer: Pick<Signer, "getAddress" | "signTypedData">,
  domain: { chainId: bigint; policyManager: string },
  claim: { node: string; policyId: string; now: number; lifetimeSeconds?: number },
): Promise<TypedRequesterProof> {
  const full: RequesterClaim = {
    requester: await signer.getAddress(),
    node: claim.node,
    policyId: claim.policyId,
    nonce: hexlify(randomBytes(32)),
    expiry: claim.now + (claim.lifetimeSeconds ?? 300),
  };
  const signature = await signer.signTypedData(
    requesterDomain(domain.chainId, domain.policyManager),
    REQUESTER_TYPES,
    full,
  );
  return { type: "eip712", claim: full, signature };
}
